/**
 * The echo endpoint (echo.ts) with a real `ws` client: text back as text, binary back as
 * binary, the feed socket's size limit and Origin policy, the wire meter's `other`, and
 * the two knobs the WebSocket lab page uses (`?close`, `?linger`).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
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

test('it picks the first offered subprotocol it speaks, and refuses an offer of none it speaks with 400, as the feed socket does', {
  timeout: 5000,
}, async (t) => {
  const server = await startServer(t);
  const picked = open(server, '', {}, ['made-up.v9', 'realtime-lab.v1.msgpack', 'realtime-lab.v1.json']);
  t.after(() => picked.terminate());
  await once(picked, 'open');
  assert.equal(picked.protocol, 'realtime-lab.v1.msgpack');

  // Refused before the upgrade, in the error format, naming what it speaks.
  const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest(`${server.url}/api/echo`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'made-up.v9',
      },
    });
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('upgrade', () => reject(new Error('upgraded an offer of only unknown subprotocols')));
    request.on('error', reject);
    request.end();
  });
  assert.equal(refused.status, 400);
  const body = JSON.parse(refused.body) as { code: string; message: string };
  assert.equal(body.code, 'RTL_UNSUPPORTED_SUBPROTOCOL');
  assert.match(body.message, /realtime-lab\.v1\.json/);
  // And a ws client, like a browser, sees its handshake fail.
  const failed = open(server, '', {}, ['made-up.v9']);
  t.after(() => failed.terminate());
  const [error] = (await once(failed, 'error')) as [Error];
  assert.match(error.message, /Unexpected server response: 400/);
});

async function otherRequests(server: TestServer): Promise<number> {
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as {
    techniques: Record<string, { httpRequests: number }>;
  };
  return stats.techniques.other?.httpRequests ?? Number.NaN;
}
