/**
 * The echo endpoint (echo.ts) with a real `ws` client: text back as text, binary back as
 * binary, the feed socket's size limit and Origin policy, the wire meter's `other`, and
 * the two knobs the WebSocket lab page uses (`?close`, `?linger`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../test/support.ts';
import { ECHO_PATH } from './echo.ts';

const BODY_LIMIT = 32 * 1024;

function open(server: TestServer, query = '', options: WebSocket.ClientOptions = {}, protocols?: string[]) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}${ECHO_PATH}${query}`, protocols, options);
  socket.on('error', () => undefined);
  return socket;
}

async function nextMessage(socket: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = (await once(socket, 'message')) as [Buffer, boolean];
  return { data, isBinary };
}

async function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

test('text comes back as text and binary as binary, byte for byte', { timeout: 5000 }, async (t) => {
  const server = await startServer(t);
  const socket = open(server);
  t.after(() => socket.terminate());
  await once(socket, 'open');

  socket.send('héllo');
  const text = await nextMessage(socket);
  assert.equal(text.isBinary, false);
  assert.equal(text.data.toString(), 'héllo');

  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  socket.send(bytes);
  const binary = await nextMessage(socket);
  assert.equal(binary.isBinary, true);
  assert.deepEqual(binary.data, bytes);
});

test('a message over the body limit closes the socket with 1009', { timeout: 5000 }, async (t) => {
  const server = await startServer(t, { config: { bodyLimitBytes: BODY_LIMIT } });
  const socket = open(server);
  t.after(() => socket.terminate());
  await once(socket, 'open');
  socket.send(Buffer.alloc(BODY_LIMIT)); // at the limit: echoed
  assert.equal((await nextMessage(socket)).data.length, BODY_LIMIT);
  socket.send(Buffer.alloc(BODY_LIMIT + 1));
  assert.equal((await closed(socket)).code, 1009);
});

test('a foreign Origin is refused with 403 before the upgrade; a plain GET gets 426', { timeout: 5000 }, async (t) => {
  const server = await startServer(t);
  const socket = open(server, '', { origin: 'https://evil.example' });
  t.after(() => socket.terminate());
  const [, response] = (await once(socket, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  for await (const chunk of response) body += chunk;
  assert.equal(response.statusCode, 403);
  assert.equal((JSON.parse(body) as { code: string }).code, 'RTL_FORBIDDEN_ORIGIN');

  const plain = await fetch(`${server.url}${ECHO_PATH}`);
  assert.equal(plain.status, 426);
  assert.equal(((await plain.json()) as { code: string }).code, 'RTL_UPGRADE_REQUIRED');
});

test('it echoes where no feed technique upgrades (its own listener), and counts as "other"', {
  timeout: 5000,
}, async (t) => {
  const server = await startServer(t, { transports: [] });
  const before = await otherRequests(server);
  const socket = open(server);
  t.after(() => socket.terminate());
  await once(socket, 'open');
  socket.send('alone');
  assert.equal((await nextMessage(socket)).data.toString(), 'alone');
  assert.equal((await otherRequests(server)) - before, 2, 'the handshake, then the stats request itself');
});

test('?close=4000 has the server close at once with that code and a reason', { timeout: 5000 }, async (t) => {
  const server = await startServer(t);
  const socket = open(server, '?close=4000');
  t.after(() => socket.terminate());
  const { code, reason } = await closed(socket);
  assert.equal(code, 4000);
  assert.match(reason, /4000/);
});

test('?linger=MS holds the answer to the client close frame that long', { timeout: 5000 }, async (t) => {
  const server = await startServer(t);
  const socket = open(server, '?linger=400');
  t.after(() => socket.terminate());
  await once(socket, 'open');
  const start = performance.now();
  socket.close(1000, 'bye');
  await closed(socket);
  assert.ok(performance.now() - start >= 350, `closed after ${Math.round(performance.now() - start)} ms`);
});

test('it picks the first offered subprotocol it speaks, and none when it speaks none', { timeout: 5000 }, async (t) => {
  const server = await startServer(t);
  const picked = open(server, '', {}, ['made-up.v9', 'realtime-lab.v1.msgpack', 'realtime-lab.v1.json']);
  t.after(() => picked.terminate());
  await once(picked, 'open');
  assert.equal(picked.protocol, 'realtime-lab.v1.msgpack');

  // ws, like a browser, fails a handshake that answers none of the protocols it offered.
  const refused = open(server, '', {}, ['made-up.v9']);
  t.after(() => refused.terminate());
  const [error] = (await once(refused, 'error')) as [Error];
  assert.match(error.message, /Server sent no subprotocol/);
});

async function otherRequests(server: TestServer): Promise<number> {
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as {
    techniques: Record<string, { httpRequests: number }>;
  };
  return stats.techniques.other?.httpRequests ?? Number.NaN;
}
