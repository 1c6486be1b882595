/**
 * The server over HTTP/2 and TLS, with real clients (`node:http2`, `tls`, `ws`): what the
 * wire meter counts (HPACK at work), the limits one connection meets (concurrent streams,
 * the per-address cap, a stream whose client stops reading, a body over the limit, rapid
 * reset, slowloris over TLS), and a shutdown (GOAWAY, `end` events, answers, 1001).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import tls from 'node:tls';
import { test } from 'node:test';
import WebSocket from 'ws';
import { clientFor } from '../test/clients/index.ts';
import { publish, startServer, testCertificate, until } from '../test/support.ts';
import { CLOSE } from './contract/formats/websocket.js';
import { withCapabilities } from './contract/techniques.js';
import { HTTP2_MAX_CONCURRENT_STREAMS } from './http2-settings.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// Thousands of streams opened and reset at once: never beside a Chromium or a bench run (test/heavy.ts).
await takeHeavySlot();

// Node warns (once per process) when a response over HTTP/2 sets a header HTTP/2 forbids.
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));

const [polled] = withCapabilities({ pollsWhenIdle: true });
const [held] = withCapabilities({ holdsRequest: true, streams: false });
const [httpStream] = withCapabilities({ streams: true, upgrades: false });
const [upgraded] = withCapabilities({ upgrades: true });
if (!polled || !held || !httpStream || !upgraded)
  throw new Error('the registry lacks a kind of technique these tests need');

async function connect(t: { after(fn: () => unknown): void }, url: string): Promise<ClientHttp2Session> {
  const session = http2.connect(url, { ca: (await testCertificate()).cert });
  session.on('error', () => {});
  t.after(() => session.destroy());
  await once(session, 'remoteSettings');
  return session;
}

/** One request on `session`; resolves with its status and body once it ends. */
async function request(
  session: ClientHttp2Session,
  path: string,
  init: { method?: string; body?: string | Buffer } = {},
): Promise<{ status: number; body: string }> {
  const stream = session.request(
    { ':path': path, ':method': init.method ?? 'GET', ...(init.body && { 'content-type': 'application/json' }) },
    { endStream: init.body === undefined },
  );
  if (init.body !== undefined) stream.end(init.body);
  const [headers] = (await once(stream, 'response')) as [Record<string, string>];
  let body = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) body += chunk;
  return { status: Number(headers[':status']), body };
}

test('HPACK: a repeated poll costs a few header bytes over HTTP/2, its first one and every one over HTTP/1.1 much more; the meter counts the frames exactly', async (t) => {
  const figures: Record<string, number[]> = {};
  const answers: Record<string, number[]> = {};
  for (const protocol of ['h2', 'http/1.1'] as const) {
    const server = await startServer(t, { tls: protocol });
    const perRequest: number[] = [];
    const answerHeaders: number[] = [];
    const path: string = `/api/${polled.id}?client=hpack`;
    const counted = () => server.wire.snapshot('hpack')[polled.id]?.bytesIn.headers ?? 0;
    const countedOut = () => server.wire.snapshot('hpack')[polled.id]?.bytesOut.headers ?? 0;
    if (protocol === 'h2') {
      const session = await connect(t, server.url);
      for (let i = 0; i < 5; i += 1) {
        const before = counted();
        const beforeOut = countedOut();
        assert.equal((await request(session, path)).status, 200);
        perRequest.push(counted() - before);
        answerHeaders.push(countedOut() - beforeOut);
      }
      // Every byte the client wrote (preface, SETTINGS, HEADERS, WINDOW_UPDATE...) is
      // counted once, in some bucket: plaintext HTTP/2 frames, no TLS record in them.
      const written = () => session.socket.bytesWritten;
      const meteredIn = () => {
        const all = Object.values(server.wire.snapshot());
        return all.reduce((sum, c) => sum + c.bytesIn.headers + c.bytesIn.body, 0) + server.wire.sharedHttp2().bytesIn;
      };
      await until(
        () => meteredIn() === written(),
        () => `metered ${meteredIn()} of the ${written()} bytes written`,
      );
    } else {
      for (let i = 0; i < 5; i += 1) {
        const before = counted();
        const beforeOut = countedOut();
        const socket = tls.connect({
          host: '127.0.0.1',
          port: Number(new URL(server.url).port),
          ca: (await testCertificate()).cert,
          ALPNProtocols: ['http/1.1'],
        });
        await once(socket, 'secureConnect');
        socket.end(
          `GET ${path} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nUser-Agent: node\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
        );
        for await (const _ of socket);
        await until(() => server.wire.activeRequests(polled.id) === 0, 'the answer to be counted');
        perRequest.push(counted() - before);
        answerHeaders.push(countedOut() - beforeOut);
      }
    }
    figures[protocol] = perRequest;
    answers[protocol] = answerHeaders;
  }
  console.log(
    `request header bytes per poll: HTTP/2 ${figures.h2?.join(', ')}; HTTP/1.1 over TLS ${figures['http/1.1']?.join(', ')}`,
  );
  console.log(
    `answer header bytes per poll: HTTP/2 ${answers.h2?.join(', ')}; HTTP/1.1 over TLS ${answers['http/1.1']?.join(', ')}`,
  );
  const [first = 0, ...following] = figures.h2 ?? [];
  const h1 = figures['http/1.1'] ?? [];
  for (const bytes of following)
    assert.ok(bytes < first / 2, `a following HTTP/2 request (${bytes} B) costs less than half the first (${first} B)`);
  for (const bytes of following)
    assert.ok(bytes < Math.min(...h1) / 2, `HPACK (${bytes} B) costs less than half HTTP/1.1's (${h1.join(', ')} B)`);
});

test('streams of two techniques on one connection: each keeps its exact body, their shared frames go to sharedHttp2, and every byte is counted once', async (t) => {
  const server = await startServer(t, { tls: 'h2' });
  const session = await connect(t, server.url);
  const stream = session.request({ ':path': `/api/${httpStream.id}` });
  let received = 0;
  stream.on('data', (chunk: Buffer) => (received += chunk.length));
  await once(stream, 'response');
  for (let i = 0; i < 5; i += 1) {
    assert.equal((await request(session, `/api/${polled.id}`)).status, 200);
    // On the same connection, so that every byte the server meters is this client's.
    const body = JSON.stringify({ author: 'ada', text: `message ${i}` });
    assert.equal((await request(session, '/api/messages', { method: 'POST', body })).status, 201);
  }
  await until(() => server.wire.snapshot()[httpStream.id]?.messagesDelivered === 5, 'the stream to deliver');
  const all = () => [
    ...Object.values(server.wire.snapshot()),
    { bytesIn: { headers: server.wire.sharedHttp2().bytesIn, body: 0 } },
  ];
  const meteredIn = () => all().reduce((sum, c) => sum + c.bytesIn.headers + c.bytesIn.body, 0);
  await until(
    () => meteredIn() === session.socket.bytesWritten,
    () => `metered ${meteredIn()} of ${session.socket.bytesWritten} bytes written`,
  );
  await until(
    () => server.wire.snapshot()[httpStream.id]?.bytesOut.body === received,
    () => `the stream's body ${server.wire.snapshot()[httpStream.id]?.bytesOut.body}, ${received} received`,
  );
  const shared = server.wire.sharedHttp2();
  assert.ok(
    shared.bytesIn > 0 && shared.bytesOut > 0,
    `frames of overlapping streams are shared: ${JSON.stringify(shared)}`,
  );
  stream.close();
});

test(`one HTTP/2 connection holds at most ${HTTP2_MAX_CONCURRENT_STREAMS} requests at once; the rest wait`, async (t) => {
  const server = await startServer(t, { tls: 'h2', config: { longPollMaxTimeoutMs: 60_000 } });
  const session = await connect(t, server.url);
  assert.equal(session.remoteSettings.maxConcurrentStreams, HTTP2_MAX_CONCURRENT_STREAMS);
  const opened: ClientHttp2Stream[] = [];
  for (let i = 0; i < HTTP2_MAX_CONCURRENT_STREAMS + 20; i += 1) {
    const stream = session.request({ ':path': `/api/${held.id}?timeout=60000` });
    stream.on('error', () => {});
    opened.push(stream);
  }
  await until(
    () => server.wire.activeRequests(held.id) === HTTP2_MAX_CONCURRENT_STREAMS,
    () => `${server.wire.activeRequests(held.id)} held`,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(server.wire.activeRequests(held.id), HTTP2_MAX_CONCURRENT_STREAMS, 'no more than the setting');
  for (const stream of opened) stream.close();
});

test('the per-address cap counts HTTP/2 and HTTP/1.1-over-TLS connections, and refuses the one too many with a 503', async (t) => {
  const server = await startServer(t, { tls: 'h2', config: { maxConnectionsPerAddress: 2 } });
  const first = await connect(t, server.url);
  const second = await connect(t, server.url);
  assert.equal((await request(first, `/api/${polled.id}`)).status, 200);
  assert.equal((await request(second, `/api/${polled.id}`)).status, 200);
  const third = await connect(t, server.url);
  const goaway = once(third, 'goaway');
  const refused = await request(third, `/api/${polled.id}`);
  assert.equal(refused.status, 503);
  assert.match(refused.body, /MAX_CONNECTIONS_PER_ADDRESS/);
  await goaway;
  // Over HTTP/1.1 with TLS, the same cap, the same answer.
  const socket = tls.connect({
    host: '127.0.0.1',
    port: Number(new URL(server.url).port),
    ca: (await testCertificate()).cert,
    ALPNProtocols: ['http/1.1'],
  });
  await once(socket, 'secureConnect');
  socket.end(`GET /api/${polled.id} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`);
  let answer = '';
  for await (const chunk of socket) answer += chunk;
  assert.match(answer, /^HTTP\/1\.1 503 /);
  assert.match(answer, /\r\nconnection: close\r\n/i);
  assert.equal(server.connections.figures().refused, 2);
});

test('an HTTP/2 stream whose client stops reading is dropped after SLOW_CLIENT_TIMEOUT_MS; its connection and other streams go on', async (t) => {
  const server = await startServer(t, { tls: 'h2', config: { slowClientTimeoutMs: 300 } });
  const session = await connect(t, server.url);
  const stuck = session.request({ ':path': `/api/${httpStream.id}` });
  await once(stuck, 'response');
  stuck.pause();
  stuck.on('error', () => {});
  // Past the stream's flow-control window (64 KiB) and Node's buffer behind it.
  const text = 'x'.repeat(4000);
  for (let i = 0; i < 60; i += 1) await publish(server.url, { author: 'ada', text });
  await until(() => server.wire.activeRequests(httpStream.id) === 0, 'the server to drop the stream');
  // The client learns of it with RST_STREAM; its paused stream emits 'close' only once read.
  await until(() => stuck.closed, 'the stream to be closed by the server');
  assert.equal((await request(session, `/api/${polled.id}`)).status, 200, 'the same connection still serves');
});

test('an answer its HTTP/2 client does not read is cut at the write deadline; the connection serves on', async (t) => {
  const server = await startServer(t, { tls: 'h2', config: { slowClientTimeoutMs: 300, pollPageBytes: 512 * 1024 } });
  const text = 'x'.repeat(4000);
  for (let i = 0; i < 40; i += 1) await publish(server.url, { author: 'ada', text });
  const session = await connect(t, server.url);
  // 160 KB of answer: past the stream's flow-control window (64 KiB) while it is not read.
  const unread = session.request({ ':path': `/api/${polled.id}?since=0` });
  unread.on('error', () => {});
  await once(unread, 'response');
  unread.pause();
  await until(() => server.connections.figures().cut.writeDeadline === 1, 'the write deadline to cut the answer');
  await until(() => unread.closed, 'the stream to be closed by the server');
  assert.equal((await request(session, `/api/${polled.id}`)).status, 200, 'the same connection still serves');
});

test('a body over the limit gets its 413 over HTTP/2, and the connection serves on', async (t) => {
  const server = await startServer(t, { tls: 'h2' });
  const session = await connect(t, server.url);
  const tooBig = await request(session, '/api/messages', {
    method: 'POST',
    body: Buffer.alloc(server.config.bodyLimitBytes * 8, 'a'),
  });
  assert.equal(tooBig.status, 413);
  const ok = await request(session, '/api/messages', {
    method: 'POST',
    body: JSON.stringify({ author: 'ada', text: 'fits' }),
  });
  assert.equal(ok.status, 201);
  assert.deepEqual(
    warnings.filter((w) => w.startsWith('UnsupportedWarning')),
    [],
    'no connection header over HTTP/2',
  );
});

test('a stream that declared a body it never sent is forgotten: the connection’s later requests are metered as theirs', async (t) => {
  // Its record waited for the declared bytes for as long as the connection lived: every
  // later byte read went to it as body, and a connection sending such requests again and
  // again made each request walk every dead one before it (quadratic CPU).
  const server = await startServer(t, { tls: 'h2' });
  const session = await connect(t, server.url);
  const liar = session.request({ ':method': 'POST', ':path': '/api/messages', 'content-length': '1000000000' });
  liar.on('error', () => {});
  liar.resume();
  await once(liar, 'close');
  const counted = () => server.wire.snapshot('after-liar')[polled.id]?.bytesIn.headers ?? 0;
  for (let i = 0; i < 3; i += 1) {
    const before = counted();
    assert.equal((await request(session, `/api/${polled.id}?client=after-liar`)).status, 200);
    assert.ok(counted() > before, `poll ${i + 1}: its HEADERS frame metered as its own`);
  }
});

test('rapid reset: thousands of streams opened and cancelled at once leave nothing held, and the server serves on', async (t) => {
  const server = await startServer(t, { tls: 'h2' });
  const session = await connect(t, server.url);
  session.on('goaway', () => {});
  for (let i = 0; i < 5000; i += 1) {
    const stream = session.request({ ':path': `/api/${held.id}?timeout=30000` });
    stream.on('error', () => {});
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  await until(
    () => server.wire.activeRequests(held.id) === 0,
    () => `${server.wire.activeRequests(held.id)} still held`,
  );
  console.log(
    `rapid reset: ${server.wire.snapshot()[held.id]?.httpRequests} of 5000 cancelled streams reached the app; the session ${session.destroyed || session.closed ? 'was closed' : 'lives'}`,
  );
  const fresh = await connect(t, server.url);
  assert.equal((await request(fresh, `/api/${polled.id}`)).status, 200);
});

test('slowloris over TLS: an HTTP/1.1 connection that never finishes its headers is closed after HEADERS_TIMEOUT_MS', async (t) => {
  const server = await startServer(t, { tls: 'http/1.1', config: { headersTimeoutMs: 500, requestTimeoutMs: 1000 } });
  const socket = tls.connect({
    host: '127.0.0.1',
    port: Number(new URL(server.url).port),
    ca: (await testCertificate()).cert,
    ALPNProtocols: ['http/1.1'],
  });
  socket.on('error', () => {});
  await once(socket, 'secureConnect');
  socket.write(`GET /api/${polled.id} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nX-Slow: `);
  const started = Date.now();
  const drip = setInterval(() => socket.write('a'), 100);
  t.after(() => clearInterval(drip));
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  await once(socket, 'close');
  const ms = Date.now() - started;
  assert.ok(ms < 5000, `closed after ${ms} ms`);
  assert.match(answer, /^(HTTP\/1\.1 408 |$)/, 'a 408 or nothing');
});

test('shutdown over HTTP/2: within the farewell, every stream its `end` event and END_STREAM, a held poll its answer, a WebSocket over wss:// its 1001, the session a GOAWAY', async (t) => {
  const server = await startServer(t, { tls: 'h2' });
  const session = await connect(t, server.url);
  const goaway = once(session, 'goaway');
  // A stream read raw, to see how it ends: END_STREAM ('end'), not a cut session.
  const raw = session.request({ ':path': `/api/${httpStream.id}` });
  let streamed = '';
  raw.setEncoding('utf8');
  raw.on('data', (chunk: string) => (streamed += chunk));
  await once(raw, 'response');
  const ended = once(raw, 'end');
  const stream = await clientFor(httpStream)(server.url, { since: 0 });
  t.after(() => stream.close());
  const poll = request(session, `/api/${held.id}?timeout=30000`);
  const socket = new WebSocket(`${server.url.replace('https', 'wss')}/api/${upgraded.id}`, {
    ca: (await testCertificate()).cert,
  });
  await once(socket, 'open');
  const wsClosed = once(socket, 'close') as Promise<[number, Buffer]>;
  await until(() => server.wire.activeRequests(held.id) === 1, 'the poll to be held');
  // The farewell alone: what clients are told before shutdown cuts anything.
  await server.farewell();
  await goaway;
  await ended;
  assert.match(streamed, /"reason":"shutdown"/);
  assert.equal(raw.rstCode, http2.constants.NGHTTP2_NO_ERROR);
  const [code] = await wsClosed;
  assert.equal(code, CLOSE.GOING_AWAY);
  const answer = await poll;
  assert.equal(answer.status, 200);
  assert.deepEqual((JSON.parse(answer.body) as { messages: unknown[] }).messages, []);
  await until(() => stream.events.some((event) => event.type === 'end'), 'the stream client to be told');
  assert.equal(stream.events.at(-1)?.type, 'end');
});
