/**
 * The limits a user can configure and the cross-origin policy, each with a real client:
 * publish rate per client id and per address whatever ids it invents (HTTP 429 with
 * Retry-After; WebSocket error frames, then 1008), connections per technique (503 with
 * Retry-After, before a WebSocket upgrade), CORS that names allowed origins only, the
 * pages' security headers, and connections per client address (503, then closed; a flood
 * closed at once; descriptors left for others, with a server in its own process under a
 * lowered descriptor limit).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import { startServerProcess } from '../bench/server-process.ts';
import { DEFAULT_CONFIG } from './config.ts';
import {
  type ConnectionFigures,
  type DescriptorFigures,
  REFUSED_LINGER_MAX,
  REFUSED_LINGER_MS,
} from './connections.ts';
import { MAX_RATE_BUCKETS, PublishLimiter, addressKey } from './limits.ts';
import { PAGE_CSP } from './plugins/security.ts';
import { startServer, until } from '../test/support.ts';
import { PRLIMIT, needs } from '../test/tools.ts';
import { withCapabilities } from './contract/techniques.js';

const post = (url: string, client?: string) =>
  fetch(`${url}/api/messages${client ? `?client=${client}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'ada', text: 'hi' }),
  });

test('a client publishing past its rate gets 429 with Retry-After; another client id is not slowed', async (t) => {
  // 1/s, so that a slow first request on a busy machine cannot refill a token before the sixth.
  const server = await startServer(t, { config: { publishRatePerClient: 1, publishBurst: 5 } });
  for (let i = 0; i < 5; i++) assert.equal((await post(server.url, 'eager')).status, 201);
  const refused = await post(server.url, 'eager');
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  const body = (await refused.json()) as { message: string; code: string };
  assert.equal(body.code, 'RTL_RATE_LIMITED');
  assert.match(
    body.message,
    /^client "eager" publishes faster than its limit \(1\/s, bursts of 5, per client id: PUBLISH_RATE_PER_CLIENT, PUBLISH_BURST\): wait \d+ ms$/,
  );
  assert.equal((await post(server.url, 'patient')).status, 201, 'limits are per client id, not per address');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await post(server.url, 'eager')).status, 201, 'the bucket refills at the rate');
});

test('the token bucket refills at its rate and never above its burst', () => {
  let now = 0;
  const limiter = new PublishLimiter(
    { publishRatePerClient: 2, publishBurst: 3, publishRatePerAddress: 0, publishBurstPerAddress: 1 },
    () => now,
  );
  for (let i = 0; i < 3; i++) limiter.take('a', '10.0.0.1');
  assert.throws(() => limiter.take('a', '10.0.0.1'), /wait 500 ms/);
  now = 10_000;
  for (let i = 0; i < 3; i++) limiter.take('a', '10.0.0.1');
  assert.throws(() => limiter.take('a', '10.0.0.1'));
  const off = new PublishLimiter({
    publishRatePerClient: 0,
    publishBurst: 1,
    publishRatePerAddress: 0,
    publishBurstPerAddress: 1,
  });
  for (let i = 0; i < 10; i++) assert.doesNotThrow(() => off.take('a', '10.0.0.1'), 'rate 0 turns both limits off');
});

test('600 publishes under 600 invented client ids at once: the default address limit takes 400, and says so', () => {
  const now = 0;
  const limiter = new PublishLimiter(DEFAULT_CONFIG, () => now);
  let accepted = 0;
  const refusals: string[] = [];
  for (let i = 0; i < 600; i++) {
    try {
      limiter.take(`invented-${i}`, '203.0.113.7');
      accepted += 1;
    } catch (error) {
      refusals.push((error as Error).message);
    }
  }
  assert.equal(DEFAULT_CONFIG.publishBurstPerAddress, 400);
  assert.equal(accepted, 400);
  assert.match(
    refusals[0] ?? '',
    /^address 203\.0\.113\.7 publishes faster than its limit \(200\/s, bursts of 400, per address, whatever client ids it names: PUBLISH_RATE_PER_ADDRESS, PUBLISH_BURST_PER_ADDRESS\): wait 5 ms$/,
  );
  assert.doesNotThrow(() => limiter.take('invented-0', '203.0.113.8'), 'another address has its own bucket');
});

test('the address bucket refills at its rate; a publish refused by its client limit spends none of it', () => {
  let now = 0;
  const limiter = new PublishLimiter(
    { publishRatePerClient: 1, publishBurst: 1, publishRatePerAddress: 10, publishBurstPerAddress: 3 },
    () => now,
  );
  limiter.take('a', '10.0.0.1');
  for (let i = 0; i < 5; i++) assert.throws(() => limiter.take('a', '10.0.0.1'), /: client "a" publishes faster/);
  limiter.take('b', '10.0.0.1');
  limiter.take('c', '10.0.0.1');
  assert.throws(() => limiter.take('d', '10.0.0.1'), /: address 10\.0\.0\.1 publishes faster .*: wait 100 ms$/);
  now = 100;
  limiter.take('d', '10.0.0.1');
  assert.throws(() => limiter.take('e', '10.0.0.1'), /: address 10\.0\.0\.1/);
});

test(`inventing more ids than MAX_RATE_BUCKETS (${MAX_RATE_BUCKETS}) forgets client buckets, never the address's own`, () => {
  const limiter = new PublishLimiter(
    { publishRatePerClient: 50, publishBurst: 100, publishRatePerAddress: 200, publishBurstPerAddress: 400 },
    () => 0,
  );
  let accepted = 0;
  for (let i = 0; i <= MAX_RATE_BUCKETS + 1; i++) {
    try {
      limiter.take(`invented-${i}`, '198.51.100.1');
      accepted += 1;
    } catch {
      // refused by the address limit, as it should be
    }
  }
  assert.equal(accepted, 400);
  assert.throws(
    () => limiter.take('invented-0', '198.51.100.1'),
    /: address 198\.51\.100\.1/,
    'the first id, forgotten since, still meets the empty address bucket',
  );
  assert.throws(() => limiter.take('yet-another', '198.51.100.1'), /: address 198\.51\.100\.1/);
});

test('addresses are limited as IPv4, or by their IPv6 /64, so a host cannot invent addresses either', () => {
  assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:3::1'), '2001:db8:1:3::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  assert.equal(addressKey(undefined), 'unknown');
  const limiter = new PublishLimiter(
    { publishRatePerClient: 0, publishBurst: 1, publishRatePerAddress: 1, publishBurstPerAddress: 2 },
    () => 0,
  );
  limiter.take(undefined, '2001:db8:1:2::a');
  limiter.take(undefined, '2001:db8:1:2::b');
  assert.throws(() => limiter.take(undefined, '2001:db8:1:2::c'), /: address 2001:db8:1:2::\/64 publishes faster/);
});

test('over HTTP, a new client id per publish meets the address limit: 429 with Retry-After naming the address', async (t) => {
  const server = await startServer(t, {
    config: { publishRatePerClient: 50, publishBurst: 100, publishRatePerAddress: 10, publishBurstPerAddress: 20 },
  });
  const started = performance.now();
  const statuses: number[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < 100; i++) {
    const answer = await post(server.url, `invented-${i}`);
    statuses.push(answer.status);
    if (answer.status === 429 && !refused) refused = answer;
    else await answer.arrayBuffer();
  }
  const elapsedS = (performance.now() - started) / 1000;
  const accepted = statuses.filter((status) => status === 201).length;
  // The burst, plus what the bucket refilled while the requests were on their way.
  assert.ok(
    accepted >= 20 && accepted <= 20 + Math.ceil(10 * elapsedS) + 1,
    `${accepted} accepted in ${elapsedS.toFixed(2)} s`,
  );
  assert.deepEqual(new Set(statuses), new Set([201, 429]));
  assert.ok(refused);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  const body = (await refused.json()) as { code: string; message: string; statusCode: number };
  assert.equal(body.statusCode, 429);
  assert.equal(body.code, 'RTL_RATE_LIMITED');
  assert.match(
    body.message,
    /^address 127\.0\.0\.1 publishes faster than its limit \(10\/s, bursts of 20, per address, whatever client ids it names/,
  );
  assert.equal(server.feed.lastId, accepted);
});

test('over WebSocket, sockets with invented ids share their address limit: error frames name it', async (t) => {
  const server = await startServer(t, { config: { publishRatePerAddress: 1, publishBurstPerAddress: 2 } });
  const answers: { type: string; message?: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/websocket?client=socket-${i}`);
    t.after(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    const answered = new Promise<{ type: string; message?: string }>((resolve) =>
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type?: string; message?: string };
        if (frame.type === 'ack' || frame.type === 'error') resolve(frame as { type: string; message?: string });
      }),
    );
    socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: `from socket ${i}` }));
    answers.push(await answered);
  }
  assert.deepEqual(
    answers.map((answer) => answer.type),
    ['ack', 'ack', 'error'],
  );
  assert.match(answers[2]?.message ?? '', /^address 127\.0\.0\.1 publishes faster than its limit \(1\/s, bursts of 2/);
});

test('a WebSocket flooding publish frames gets error frames, then close 1008', async (t) => {
  const server = await startServer(t, { config: { publishRatePerClient: 1, publishBurst: 2 } });
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/websocket?client=flood`);
  await new Promise((resolve) => socket.once('open', resolve));
  const replies: { type: string; message?: string }[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  for (let i = 0; i < 20; i++) socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: `flood ${i}` }));
  assert.equal(await closed, 1008);
  // The socket also follows the feed: keep the answers to its own frames.
  const answers = replies.filter((r) => r.type !== undefined);
  assert.deepEqual(
    answers.slice(0, 2).map((r) => r.type),
    ['ack', 'ack'],
  );
  assert.match(answers[2]?.message ?? '', /publishes faster than its limit/);
});

// Streams over HTTP: each writes at once, so a held one is seen open.
for (const { id } of withCapabilities({ streams: true, upgrades: false })) {
  test(`${id}: past MAX_CONNECTIONS_PER_TECHNIQUE a stream gets 503 with Retry-After, and room comes back when one leaves`, async (t) => {
    const server = await startServer(t, { config: { maxConnectionsPerTechnique: 2 } });
    const open = () =>
      new Promise<{ status: number; body: string; retryAfter: string | undefined; close: () => void }>(
        (resolve, reject) => {
          const req = httpRequest(`${server.url}/api/${id}`, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
              resolve({
                status: res.statusCode ?? 0,
                body,
                retryAfter: res.headers['retry-after'],
                close: () => req.destroy(),
              });
            });
          });
          req.on('error', reject);
          req.end();
        },
      );
    const first = await open();
    const second = await open();
    const third = await open();
    assert.deepEqual([first.status, second.status, third.status], [200, 200, 503]);
    assert.equal(third.retryAfter, '5');
    assert.match(JSON.parse(third.body).message, new RegExp(`${id} already holds 2 connections`));
    first.close();
    await until(() => server.wire.activeRequests(id) < 2, 'the first stream to be gone');
    const fourth = await open();
    assert.equal(fourth.status, 200);
    second.close();
    fourth.close();
  });
}

test('past the cap a WebSocket handshake is refused with 503 before the upgrade', async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerTechnique: 1 } });
  const url = `${server.url.replace('http', 'ws')}/api/websocket`;
  const first = new WebSocket(url);
  await new Promise((resolve) => first.once('open', resolve));
  const second = new WebSocket(url);
  const status = await new Promise<number>((resolve) =>
    second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
  );
  assert.equal(status, 503);
  second.on('error', () => undefined);
  first.close();
});

test('CORS: only an allowed origin is named back, never reflected; a foreign preflight gets 403', async (t) => {
  const server = await startServer(t, { config: { allowedOrigins: ['https://teacher.example'] } });
  const foreign = await fetch(`${server.url}/api/health`, { headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  assert.equal(foreign.headers.get('vary'), 'Origin');
  const allowed = await fetch(`${server.url}/api/health`, { headers: { origin: 'https://teacher.example' } });
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://teacher.example');

  const foreignPreflight = await fetch(`${server.url}/api/messages`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(foreignPreflight.status, 403);
  assert.match(
    ((await foreignPreflight.json()) as { message: string }).message,
    /https:\/\/evil.example" may not call this API/,
  );
  const preflight = await fetch(`${server.url}/api/messages`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://teacher.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://teacher.example');
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/);

  const sameOrigin = await fetch(`${server.url}/api/health`, { headers: { origin: server.url } });
  assert.equal(sameOrigin.headers.get('access-control-allow-origin'), null);
});

test('pages carry a Content-Security-Policy and nosniff; the iframe stream keeps its own frame-ancestors', async (t) => {
  const server = await startServer(t);
  for (const path of ['/', '/techniques/sse.html', '/results/']) {
    const page = await fetch(`${server.url}${path}`);
    assert.equal(page.headers.get('content-security-policy'), PAGE_CSP, path);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff', path);
  }
  assert.match(PAGE_CSP, /script-src 'self'/);
  assert.doesNotMatch(PAGE_CSP, /unsafe-inline|unsafe-eval/);
  const api = await fetch(`${server.url}/api/stats`);
  assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
  const controller = new AbortController();
  const iframe = await fetch(`${server.url}/api/forever-iframe`, { signal: controller.signal });
  assert.equal(iframe.headers.get('content-security-policy'), "frame-ancestors 'self'");
  controller.abort();
});

/** Why the descriptor test cannot lower a server's descriptor limit here, or false (prlimit is util-linux's, on every Debian). */
/** A GET on a fresh connection from `localAddress`: status, headers and body. */
function getFrom(
  url: string,
  path: string,
  localAddress: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function connectionFigures(url: string): Promise<ConnectionFigures> {
  const stats = JSON.parse((await getFrom(url, '/api/stats', '127.0.0.2')).body) as { connections: ConnectionFigures };
  return stats.connections;
}

/** A connection from `localAddress` that sends nothing; resolves once connected. */
async function idleConnection(url: string, localAddress: string, t: TestContext): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: Number(new URL(url).port), localAddress });
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

test('past MAX_CONNECTIONS_PER_ADDRESS a connection gets 503 with Retry-After and is closed; another address is served; room comes back', {
  timeout: 20_000,
}, async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerAddress: 3 } });
  const held = [];
  for (let i = 0; i < 3; i += 1) held.push(await idleConnection(server.url, '127.0.0.1', t));
  await until(() => server.connections.figures().mostFromOneAddress === 3, 'three connections from 127.0.0.1');

  const refused = await getFrom(server.url, '/api/health', '127.0.0.1');
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '5');
  assert.equal(refused.headers.connection, 'close');
  const body = JSON.parse(refused.body) as { code: string; message: string };
  assert.equal(body.code, 'RTL_TOO_MANY_ADDRESS_CONNECTIONS');
  assert.match(
    body.message,
    /address 127\.0\.0\.1 already holds 3 connections, its limit \(MAX_CONNECTIONS_PER_ADDRESS\)/,
  );
  // A WebSocket is refused before its upgrade.
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/websocket`, { localAddress: '127.0.0.1' });
  socket.on('error', () => undefined);
  const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode?: number }];
  assert.equal(response.statusCode, 503);

  assert.equal((await getFrom(server.url, '/api/health', '127.0.0.2')).status, 200, 'another address is served');
  const figures = await connectionFigures(server.url);
  assert.equal(figures.perAddressLimit, 3);
  assert.equal(figures.mostFromOneAddress, 3);
  assert.ok(figures.refused >= 2);

  held[0]?.destroy();
  await until(() => server.connections.figures().mostFromOneAddress === 2, 'the server to see one go');
  assert.equal((await getFrom(server.url, '/api/health', '127.0.0.1')).status, 200, 'room came back');
});

test('a flood of connections from one address: a few wait for their 503, the rest are closed at once, none holds a descriptor for long', {
  timeout: 20_000,
}, async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerAddress: 3 } });
  for (let i = 0; i < 3; i += 1) await idleConnection(server.url, '127.0.0.1', t);
  const flood = await Promise.all(Array.from({ length: 20 }, () => idleConnection(server.url, '127.0.0.1', t)));
  const closed = flood.map((socket) => once(socket, 'close').then(() => Date.now()));
  const started = Date.now();
  const times = await Promise.all(closed);
  const early = times.filter((at) => at - started < REFUSED_LINGER_MS / 2).length;
  console.log(`flood: ${early} of 20 closed at once, the last after ${Math.max(...times) - started} ms`);
  assert.equal(early, 20 - REFUSED_LINGER_MAX, 'past the few that may wait for their answer, closed at once');
  assert.ok(
    Math.max(...times) - started < REFUSED_LINGER_MS + 1000,
    'the ones that said nothing are closed after the linger',
  );
  const figures = await connectionFigures(server.url);
  assert.equal(figures.refused, 20);
  assert.equal(figures.mostFromOneAddress, 3);
});

test("/api/stats reports the process's descriptors and their limit", async (t) => {
  const server = await startServer(t);
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as {
    process: DescriptorFigures | null;
    connections: ConnectionFigures;
  };
  const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  assert.ok(stats.process, 'Linux has /proc');
  assert.equal(stats.process.descriptorLimit, Number(limit));
  assert.ok(stats.process.openDescriptors > 3 && stats.process.openDescriptors < stats.process.descriptorLimit);
  assert.equal(stats.connections.perAddressLimit, 32);
  assert.ok(stats.connections.open >= 1);
});

test('one address cannot take every descriptor: 300 SSE streams from it, with 256 allowed, leave room for another address', {
  timeout: 60_000,
  ...needs(PRLIMIT),
}, async (t) => {
  const DESCRIPTORS = 256;
  const server = await startServerProcess({ LOG_LEVEL: 'silent' });
  t.after(() => server.stop());
  execFileSync(PRLIMIT.path, ['--pid', String(server.pid), `--nofile=${DESCRIPTORS}:${DESCRIPTORS}`]);
  const port = Number(new URL(server.baseUrl).port);
  const streams: net.Socket[] = [];
  t.after(() => {
    for (const socket of streams) socket.destroy();
  });
  for (let i = 0; i < 300; i += 1) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.write('GET /api/sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    streams.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));

  // Another address still gets a stream of its own, and the stats.
  const opened = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      `${server.baseUrl}/api/sse`,
      { localAddress: '127.0.0.2', agent: false, timeout: 5000 },
      (res) => {
        res.once('data', () => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(opened, 200);
  const stats = JSON.parse((await getFrom(server.baseUrl, '/api/stats', '127.0.0.2')).body) as {
    process: DescriptorFigures;
    connections: ConnectionFigures;
  };
  console.log(
    `descriptors: ${stats.process.openDescriptors} of ${stats.process.descriptorLimit} open; ${stats.connections.mostFromOneAddress} connections from one address, ${stats.connections.refused} refused`,
  );
  assert.equal(stats.process.descriptorLimit, DESCRIPTORS);
  assert.ok(stats.process.openDescriptors < DESCRIPTORS / 2, `${stats.process.openDescriptors} descriptors open`);
  assert.equal(stats.connections.mostFromOneAddress, 32);
});
