/**
 * Polling answers nobody reads must not take the server. The server runs in a process of
 * its own, so that its resident memory is its own to measure (from /proc) and an
 * out-of-memory abort cannot take the test runner with it. The history is filled with
 * 4 KB texts (about 4 MiB), then raw `net` sockets from 127.0.0.1 ask for all of it,
 * `since=0`, over many connections and pipelined on one, and never read a byte; the
 * process must stay within its bound (docs/guarantees.md) and keep answering /api/health, asked from
 * another address (127.0.0.2: the attacker's own address is capped).
 *
 * Then, on a server in this process: pipelined requests answered one at a time and in
 * order, the pipeline's depth bound, and the write deadline.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { type ServerProcess, procFigures, startServerProcess } from '../bench/server-process.ts';
import { type ConnectionFigures, PIPELINE_MAX_WAITING } from './connections.ts';
import type { Config } from './config.ts';
import {
  BURST_HEALTH_MAX_MS,
  HEALTH_MAX_MS,
  HEALTH_P90_MAX_MS,
  UNREAD_POLLING_MAX_GROWTH_BYTES,
} from '../test/guarantees.ts';
import { type TestServer, publish, startServer as startInProcess, until } from '../test/support.ts';
import { techniques } from './contract/techniques.js';
import { takeHeavySlot } from '../test/heavy.ts';

// Thousands of sockets at once: never beside a Chromium or a bench run (test/heavy.ts).
await takeHeavySlot();

const HISTORY = 1000;
const TEXT = 'x'.repeat(4096);
/** Connections that ask and never read: more than MAX_CONNECTIONS_PER_ADDRESS's default (32), so some are refused. */
const UNREAD_CONNECTIONS = 48;
/** Requests each of them pipelines: as many as the server lets wait behind an answer. */
const PIPELINED_EACH = 16;
/** The one connection that pipelines far more. */
const PIPELINED_DEEP = 500;
/** How long the unread requests are held while the server is watched, ms. */
const HOLD_MS = 3000;
const OTHER_ADDRESS = '127.0.0.2';

interface PollAnswer {
  cursor: number;
  messages: { id: number }[];
  more?: boolean;
}

async function startServer(
  t: import('node:test').TestContext,
  env: Record<string, string> = {},
): Promise<ServerProcess & { port: number }> {
  // A heap limit well above what the bound allows: a server that breaks the promise dies
  // of it quickly (as it would, later, at V8's default) instead of taking the machine's memory.
  const server = await startServerProcess({ LOG_LEVEL: 'silent', NODE_OPTIONS: '--max-old-space-size=256', ...env });
  t.after(() => server.stop());
  return { ...server, port: Number(new URL(server.baseUrl).port) };
}

/** A GET from `localAddress` on a fresh connection: its status, body and time to the last byte, ms. */
function get(
  port: number,
  path: string,
  localAddress = OTHER_ADDRESS,
  timeoutMs = 5000,
): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${path} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function fill(baseUrl: string): Promise<void> {
  for (let i = 0; i < HISTORY; i += 1) {
    const response = await fetch(`${baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'filler', text: TEXT }),
    });
    assert.equal(response.status, 201);
  }
}

/** Reads the whole history as a polite client would, following `more`; returns the ids. */
async function readAll(port: number, technique: string): Promise<number[]> {
  const ids: number[] = [];
  let cursor = 0;
  for (let page = 0; page < 2 * HISTORY; page += 1) {
    const { status, body } = await get(port, `/api/${technique}?since=${cursor}&timeout=0`);
    assert.equal(status, 200, body.slice(0, 200));
    const answer = JSON.parse(body) as PollAnswer;
    ids.push(...answer.messages.map((message) => message.id));
    cursor = answer.cursor;
    if (!answer.more) break;
  }
  return ids;
}

/** Opens a connection from 127.0.0.1, sends `count` pipelined polls for everything, and never reads. */
function unreadConnection(port: number, count: number, sockets: net.Socket[]): void {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  socket.pause();
  sockets.push(socket);
  const requests = Array.from(
    { length: count },
    (_, i) => `GET /api/${POLLERS[i % POLLERS.length]?.id}?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
  ).join('');
  socket.write(requests);
}

/** A server in this process: for what is not about the process's memory. */
function startTestServer(t: import('node:test').TestContext, config: Partial<Config> = {}): Promise<TestServer> {
  return startInProcess(t, { config });
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);

/** The techniques whose answers are polling answers, the ones this file piles up unread. */
const POLLERS = techniques.filter((technique) => technique.wire === 'poll');
const [POLITE_READER, LATE_READER = POLITE_READER] = POLLERS;
assert.ok(POLITE_READER && LATE_READER, 'a registered technique answers with polling answers');

test(`polling answers (${POLLERS.map(({ id }) => id).join(', ')}) nobody reads, over many connections and pipelined, grow the server by at most 64 MiB, and health keeps answering`, {
  timeout: 120_000,
}, async (t) => {
  const server = await startServer(t, { PUBLISH_RATE_PER_CLIENT: '0' });
  await fill(server.baseUrl);
  // A polite reader first: every message's JSON is then cached, as on a server in use.
  assert.equal((await readAll(server.port, POLITE_READER.id)).length, HISTORY);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const baseline = procFigures(server.pid)?.rssBytes ?? 0;
  assert.ok(baseline > 0, 'the server process can be measured');

  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, procFigures(server.pid)?.rssBytes ?? 0)), 25);
  const sockets: net.Socket[] = [];
  t.after(() => {
    clearInterval(sampler);
    for (const socket of sockets) socket.destroy();
  });

  // The deepest pipeline first, so that it is one of the connections the address may hold.
  unreadConnection(server.port, PIPELINED_DEEP, sockets);
  for (let i = 0; i < UNREAD_CONNECTIONS; i += 1) unreadConnection(server.port, PIPELINED_EACH, sockets);

  // Asked at once, and again and again while the unread answers are held.
  const healthMs: number[] = [];
  const failures: string[] = [];
  const holdUntil = performance.now() + HOLD_MS;
  while (performance.now() < holdUntil) {
    try {
      const { status, ms } = await get(server.port, '/api/health');
      if (status !== 200) failures.push(`health answered ${status}`);
      healthMs.push(ms);
    } catch (error) {
      failures.push((error as Error).message);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  clearInterval(sampler);
  peak = Math.max(peak, procFigures(server.pid)?.rssBytes ?? 0);
  const alive = procFigures(server.pid) !== null;
  const [burst, ...held] = healthMs;
  const sorted = [...held].sort((a, b) => a - b);
  const p90 = sorted[Math.ceil(sorted.length * 0.9) - 1] ?? Infinity;
  const worst = sorted.at(-1) ?? Infinity;
  console.log(
    `unread polling: RSS ${mib(baseline)} MiB at the start, peak ${mib(peak)} MiB (+${mib(peak - baseline)} MiB); ` +
      `health during the burst of connections ${burst?.toFixed(1)} ms, then ×${held.length}: ` +
      `median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms, max ${worst.toFixed(1)} ms; alive: ${alive}`,
  );

  assert.ok(alive, 'the server process is still running');
  assert.deepEqual(failures, [], 'every health check answered 200');
  assert.ok(held.length >= 10, `health was asked ${healthMs.length} times`);
  assert.ok(
    (burst ?? Infinity) < BURST_HEALTH_MAX_MS,
    `health took ${burst?.toFixed(1)} ms during the burst of connections`,
  );
  assert.ok(
    p90 < HEALTH_P90_MAX_MS,
    `9 health checks in 10 took up to ${p90.toFixed(1)} ms while the unread answers were held`,
  );
  assert.ok(worst < HEALTH_MAX_MS, `health took ${worst.toFixed(1)} ms at worst while the unread answers were held`);
  assert.ok(peak - baseline <= UNREAD_POLLING_MAX_GROWTH_BYTES, `RSS grew by ${mib(peak - baseline)} MiB`);

  // The defences did their part: the cap held, the deep pipeline was cut.
  const stats = JSON.parse((await get(server.port, '/api/stats')).body) as { connections: ConnectionFigures };
  assert.ok(
    stats.connections.mostFromOneAddress <= 32,
    `one address held ${stats.connections.mostFromOneAddress} connections`,
  );
  assert.ok(
    stats.connections.refused >= UNREAD_CONNECTIONS + 1 - 32,
    `${stats.connections.refused} connections refused`,
  );
  assert.equal(stats.connections.cut.pipelining, 1);

  // Everyone else is still served, in full.
  const ids = await readAll(server.port, LATE_READER.id);
  assert.deepEqual(
    ids,
    Array.from({ length: HISTORY }, (_, i) => i + 1),
  );
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Reads HTTP/1.1 answers (each with a Content-Length) off a raw socket, in order, until
 * `count` are in, the server closes the connection, or `timeoutMs` runs out.
 */
function readAnswers(
  socket: net.Socket,
  count: number,
  timeoutMs = 5000,
): Promise<{ answers: RawAnswer[]; closed: boolean }> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const answers: RawAnswer[] = [];
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ answers, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(
          lines.map((line) => [
            line.slice(0, line.indexOf(':')).toLowerCase(),
            line.slice(line.indexOf(':') + 1).trim(),
          ]),
        );
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length < end + 4 + length) return;
        answers.push({
          status: Number(statusLine.split(' ')[1]),
          headers,
          body: buffer.subarray(end + 4, end + 4 + length).toString('utf8'),
        });
        buffer = buffer.subarray(end + 4 + length);
        if (answers.length === count) return finish(false);
      }
    });
    socket.once('close', () => finish(true));
    socket.resume();
  });
}

async function connect(server: TestServer): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

test('pipelined requests are answered in order, each handled only once the answer before it is sent', {
  timeout: 20_000,
}, async (t) => {
  const server = await startTestServer(t);
  for (let i = 1; i <= 3; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const socket = await connect(server);
  t.after(() => socket.destroy());
  // A long poll held until message 4 comes, then a short poll for everything behind it:
  // handled at once (as Node would have it), the short poll would miss message 4.
  socket.write(GET('/api/long-polling?since=3&timeout=5000') + GET('/api/short-polling?since=0') + GET('/api/health'));
  const reading = readAnswers(socket, 3);
  await until(() => server.feed.listenerCount === 1, 'the long poll to be held');
  await new Promise((resolve) => setTimeout(resolve, 100));
  await publish(server.url, { author: 'ada', text: 'm4' });
  const { answers } = await reading;
  assert.deepEqual(
    answers.map((answer) => answer.status),
    [200, 200, 200],
  );
  const ids = (answer: RawAnswer | undefined) =>
    (JSON.parse(answer?.body ?? '{}') as PollAnswer).messages.map((message) => message.id);
  assert.deepEqual(ids(answers[0]), [4]);
  assert.deepEqual(ids(answers[1]), [1, 2, 3, 4]);
  assert.equal(JSON.parse(answers[2]?.body ?? '{}').status, 'ok');
});

test(`up to ${PIPELINE_MAX_WAITING} requests may wait behind an answer; a connection that pipelines more is closed`, {
  timeout: 20_000,
}, async (t) => {
  const server = await startTestServer(t);
  await publish(server.url, { author: 'ada', text: 'hello' });
  const polite = await connect(server);
  t.after(() => polite.destroy());
  polite.write(GET('/api/short-polling?since=0').repeat(1 + PIPELINE_MAX_WAITING));
  const fine = await readAnswers(polite, 1 + PIPELINE_MAX_WAITING);
  assert.equal(fine.answers.length, 1 + PIPELINE_MAX_WAITING);
  assert.ok(fine.answers.every((answer) => answer.status === 200));

  const greedy = await connect(server);
  t.after(() => greedy.destroy());
  greedy.write(GET('/api/short-polling?since=0').repeat(2 + PIPELINE_MAX_WAITING));
  const cut = await readAnswers(greedy, 2 + PIPELINE_MAX_WAITING);
  assert.equal(cut.closed, true, 'the connection is closed');
  assert.ok(cut.answers.length < 2 + PIPELINE_MAX_WAITING, `${cut.answers.length} answers came`);
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as { connections: ConnectionFigures };
  assert.equal(stats.connections.cut.pipelining, 1);
});

test('an answer not handed whole to the operating system within SLOW_CLIENT_TIMEOUT_MS has its connection closed', {
  timeout: 20_000,
}, async (t) => {
  const SLOW_CLIENT_TIMEOUT_MS = 300;
  // Pages of 1 MiB, 16 of them asked for: more than loopback's buffers take from a client that does not read.
  const server = await startTestServer(t, { slowClientTimeoutMs: SLOW_CLIENT_TIMEOUT_MS, pollPageBytes: 1024 * 1024 });
  for (let i = 0; i < 300; i += 1) await server.feed.publish({ author: 'ada', text: TEXT });
  const socket = await connect(server);
  t.after(() => socket.destroy());
  socket.pause();
  socket.write(GET('/api/short-polling?since=0').repeat(PIPELINE_MAX_WAITING));
  const figures = async () =>
    ((await (await fetch(`${server.url}/api/stats`)).json()) as { connections: ConnectionFigures }).connections;
  const started = Date.now();
  let connections = await figures();
  // Until it is cut and gone: the count of open connections drops at the socket's 'close'
  // event, an instant after the cut is counted.
  while (
    (connections.cut.writeDeadline === 0 || connections.open > 1) &&
    Date.now() - started < 10 * SLOW_CLIENT_TIMEOUT_MS
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    connections = await figures();
  }
  console.log(`write deadline: the unread connection was closed after ${Date.now() - started} ms`);
  assert.equal(connections.cut.writeDeadline, 1);
  // Only this test's own fetch connection is left open.
  assert.equal(connections.open, 1);
});
