import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import type { AbuseCounts } from '../abuse.ts';
import { DEFAULT_CONFIG } from '../config.ts';
import { type TestServer, largestPublish, startServer, until } from '../../test/support.ts';
import { CLOSE_GRACE_MS, MAX_BAD_FRAMES_IN_A_ROW, serverFrame } from './websocket.ts';

function wsUrl(server: TestServer, query = ''): string {
  return `${server.url.replace('http', 'ws')}/api/websocket${query}`;
}

/**
 * A connected ws client that records every frame it gets, parsed, after the first: that
 * one is checked to be the `epoch` frame naming the server's feed.
 */
async function connect(t: import('node:test').TestContext, server: TestServer, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(wsUrl(server), options);
  const frames: Record<string, unknown>[] = [];
  let opening: Record<string, unknown> | undefined;
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    if (opening === undefined) opening = frame;
    else frames.push(frame);
  });
  await once(socket, 'open');
  t.after(() => socket.terminate());
  await until(() => opening !== undefined, 'the epoch frame');
  assert.deepEqual(opening, { type: 'epoch', epoch: server.feed.epoch });
  return { socket, frames };
}

/** The HTTP status a handshake got instead of 101, with its body. */
async function refusedHandshake(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const socket = new WebSocket(url, { headers });
  socket.on('error', () => undefined); // terminate() below reports the refused handshake
  const [, response] = (await once(socket, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
  let body = '';
  for await (const chunk of response) body += chunk;
  socket.terminate();
  return { status: response.statusCode ?? 0, body };
}

test('a publish frame is acked with its ref and reaches every technique', async (t) => {
  const server = await startServer(t);
  const publisher = await connect(t, server);
  const listener = await connect(t, server);
  publisher.socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'over the socket', ref: 'r1' }));
  await until(() => publisher.frames.some((frame) => frame.type === 'ack'), 'the ack');
  assert.deepEqual(
    publisher.frames.find((frame) => frame.type === 'ack'),
    { type: 'ack', id: 1, ref: 'r1' },
  );
  await until(() => listener.frames.length === 1, 'the message on another socket');
  assert.equal(listener.frames[0]?.text, 'over the socket');
  const polled = (await (await fetch(`${server.url}/api/short-polling?since=0`)).json()) as {
    messages: { text: string }[];
  };
  assert.deepEqual(
    polled.messages.map((message) => message.text),
    ['over the socket'],
  );
});

test('a text of 4096 control characters is acked and arrives intact', async (t) => {
  const server = await startServer(t);
  const publisher = await connect(t, server);
  const listener = await connect(t, server);
  const text = '\u0001'.repeat(4096);
  publisher.socket.send(JSON.stringify({ type: 'publish', author: 'ada', text, ref: '\u0002'.repeat(64) }));
  await until(() => publisher.frames.some((frame) => frame.type === 'ack' || frame.type === 'error'), 'the answer');
  assert.deepEqual(
    publisher.frames.find((frame) => frame.type !== undefined),
    { type: 'ack', id: 1, ref: '\u0002'.repeat(64) },
  );
  await until(() => listener.frames.length === 1, 'the message');
  assert.equal(listener.frames[0]?.text, text);
});

test('the largest legal publish frame with every character escaped is acked', async (t) => {
  const server = await startServer(t);
  const { socket, frames } = await connect(t, server);
  const largest = largestPublish(4096, 'websocket');
  socket.send(largest.json);
  await until(() => frames.some((frame) => frame.type === 'ack' || frame.type === 'error'), 'the answer');
  assert.equal(frames.find((frame) => frame.type !== undefined)?.type, 'ack');
  await until(() => frames.some((frame) => frame.id === 1 && frame.type === undefined), 'the message itself');
  assert.equal(frames.find((frame) => frame.id === 1 && frame.type === undefined)?.text, largest.text);
});

const BAD_FRAMES: [string, string | Buffer, RegExp][] = [
  ['not JSON', '{"type":', /not JSON/],
  ['a JSON array', '["publish"]', /unknown frame type/],
  ['an unknown type', '{"type":"subscribe"}', /unknown frame type/],
  ['a missing text', '{"type":"publish","author":"ada"}', /"text" must be a string/],
  ['a text that is a number', '{"type":"publish","author":"ada","text":123}', /"text" must be a string, got number/],
  ['an unknown field', '{"type":"publish","author":"ada","text":"hi","admin":true}', /unknown field "admin"/],
  ['a text over 4096 bytes', JSON.stringify({ type: 'publish', author: 'ada', text: 'x'.repeat(4097) }), /4097 bytes/],
  ['an author of 33 characters', JSON.stringify({ type: 'publish', author: 'a'.repeat(33), text: 'hi' }), /got 33/],
  ['a lone surrogate', '{"type":"publish","author":"ada","text":"\\udc00"}', /well-formed/],
  [
    'a text of zero-width spaces',
    '{"type":"publish","author":"ada","text":"\\u200b\\u200b"}',
    /"text" must show something/,
  ],
  ['an author of spaces', '{"type":"publish","author":" \\u2060 ","text":"hi"}', /"author" must show something/],
  ['a ref that is not a string', '{"type":"publish","author":"ada","text":"hi","ref":5}', /"ref" must be a string/],
  ['a binary frame', Buffer.from('{"type":"publish","author":"ada","text":"hi"}'), /binary frames are not accepted/],
];

for (const [what, frame, message] of BAD_FRAMES) {
  test(`${what} gets an error frame, and the socket stays open`, async (t) => {
    const server = await startServer(t);
    const { socket, frames } = await connect(t, server);
    socket.send(frame);
    await until(() => frames.length === 1, 'the error frame');
    assert.equal(frames[0]?.type, 'error');
    assert.match(String(frames[0]?.message), message);
    assert.equal(socket.readyState, WebSocket.OPEN);
    socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'still here' }));
    await until(() => frames.some((f) => f.type === 'ack'), 'an ack after the error');
    assert.equal(server.feed.lastId, 1, 'only the good frame was stored');
  });
}

test('an error frame echoes the ref of the frame it answers', async (t) => {
  const server = await startServer(t);
  const { socket, frames } = await connect(t, server);
  socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: '', ref: 'r9' }));
  await until(() => frames.length === 1, 'the error frame');
  assert.equal(frames[0]?.ref, 'r9');
});

test(`${MAX_BAD_FRAMES_IN_A_ROW} bad frames in a row close the socket with 1008; a good one resets the count`, async (t) => {
  const server = await startServer(t);
  const { socket, frames } = await connect(t, server);
  const closed = once(socket, 'close') as Promise<[number, Buffer]>;
  for (let i = 0; i < MAX_BAD_FRAMES_IN_A_ROW - 1; i += 1) socket.send('nope');
  socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'good' }));
  await until(() => frames.some((frame) => frame.type === 'ack'), 'the ack');
  assert.equal(socket.readyState, WebSocket.OPEN);
  for (let i = 0; i < MAX_BAD_FRAMES_IN_A_ROW; i += 1) socket.send('nope');
  const [code] = await closed;
  assert.equal(code, 1008);
});

test('a frame over the body limit closes the socket with 1009', async (t) => {
  const server = await startServer(t, { config: { maxTextBytes: 1000, bodyLimitBytes: 8192 } });
  const { socket } = await connect(t, server);
  const closed = once(socket, 'close') as Promise<[number, Buffer]>;
  socket.send('x'.repeat(8193));
  const [code] = await closed;
  assert.equal(code, 1009);
});

test('a foreign browser Origin gets 403 before the upgrade, with a JSON message', async (t) => {
  const server = await startServer(t);
  const { status, body } = await refusedHandshake(wsUrl(server), { origin: 'http://evil.example' });
  assert.equal(status, 403);
  assert.match(
    (JSON.parse(body) as { message: string }).message,
    /Origin "http:\/\/evil.example" may not open a WebSocket/,
  );
  assert.equal(server.feed.listenerCount, 0);
});

test("the server's own origin, an allowed origin, and no Origin at all may connect", async (t) => {
  const server = await startServer(t, { config: { allowedOrigins: ['https://class.example'] } });
  for (const origin of [server.url, 'https://class.example', undefined]) {
    const socket = new WebSocket(wsUrl(server), origin ? { origin } : {});
    await once(socket, 'open');
    socket.close();
  }
});

test('a bad since over a real handshake gets 400, not a socket', async (t) => {
  const server = await startServer(t);
  const { status, body } = await refusedHandshake(wsUrl(server, '?since=-5'));
  assert.equal(status, 400);
  assert.match((JSON.parse(body) as { message: string }).message, /since must be a non-negative integer/);
});

test('a plain GET gets 426 Upgrade Required', async (t) => {
  const server = await startServer(t);
  const response = await fetch(`${server.url}/api/websocket`);
  assert.equal(response.status, 426);
  assert.match(((await response.json()) as { message: string }).message, /speaks WebSocket/);
});

/** Opens a socket that offers permessage-deflate; returns it with the extension header the server answered. */
async function offerDeflate(t: import('node:test').TestContext, server: TestServer) {
  const socket = new WebSocket(wsUrl(server), { perMessageDeflate: true });
  t.after(() => socket.terminate());
  const frames: Record<string, unknown>[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  const opened = once(socket, 'open'); // 'open' follows 'upgrade' in the same tick
  const [response] = (await once(socket, 'upgrade')) as [import('node:http').IncomingMessage];
  await opened;
  return { socket, frames, extensions: response.headers['sec-websocket-extensions'] };
}

test('permessage-deflate is not negotiated by default even when the client offers it', async (t) => {
  const server = await startServer(t);
  const { socket, extensions } = await offerDeflate(t, server);
  assert.equal(extensions, undefined);
  assert.equal(socket.extensions, '');
  socket.close();
});

test('with WS_PERMESSAGE_DEFLATE on, the extension is negotiated and compressed frames arrive both ways', async (t) => {
  const server = await startServer(t, { config: { wsPerMessageDeflate: true } });
  const { socket, frames, extensions } = await offerDeflate(t, server);
  assert.match(String(extensions), /^permessage-deflate\b/);
  assert.match(socket.extensions, /permessage-deflate/);
  const text = 'compressible '.repeat(40);
  // Up compressed (the publish), down compressed (the ack and the message).
  socket.send(JSON.stringify({ type: 'publish', author: 'deflate', text, ref: 'r1' }));
  await until(
    () => frames.some((f) => f.text === text) && frames.some((f) => f.type === 'ack'),
    'the ack and the message',
  );
  assert.deepEqual(
    frames.find((f) => f.type === 'ack'),
    { type: 'ack', id: frames.find((f) => f.text === text)?.id, ref: 'r1' },
  );
  socket.close();
});

test('the server pings, and a peer that does not answer is cut and leaves no listener', async (t) => {
  const server = await startServer(t, { config: { heartbeatMs: 100 } });
  const { socket } = await connect(t, server, { autoPong: false });
  let pings = 0;
  socket.on('ping', () => (pings += 1));
  const [code] = (await once(socket, 'close')) as [number];
  assert.ok(pings >= 1, 'pinged before being cut');
  assert.equal(code, 1006, 'terminated, not closed politely');
  await until(() => server.feed.listenerCount === 0, 'the listener to go');
});

test('a peer that answers pings is kept', async (t) => {
  const server = await startServer(t, { config: { heartbeatMs: 100 } });
  const { socket } = await connect(t, server);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(socket.readyState, WebSocket.OPEN);
});

test('a client that closes leaves no listener behind', async (t) => {
  const server = await startServer(t);
  const { socket } = await connect(t, server);
  assert.equal(server.feed.listenerCount, 1);
  socket.close();
  await until(() => server.feed.listenerCount === 0, 'the listener to go');
});

// Raw frames over a TCP socket: the parts of the Autobahn suite that cover our settings.

async function rawSocket(
  server: TestServer,
): Promise<{ socket: net.Socket; closeCode: () => Promise<number>; received: () => Buffer }> {
  const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    'GET /api/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
  });
  await until(() => buffer.includes('\r\n\r\n'), 'the 101');
  assert.match(buffer.toString('latin1'), /^HTTP\/1.1 101/);
  buffer = buffer.subarray(buffer.indexOf('\r\n\r\n') + 4);
  // The first frame names the feed's epoch (a short text frame: 0x81, length, JSON).
  await until(() => buffer.length >= 2 && buffer.length >= 2 + (buffer[1] ?? 0), 'the epoch frame');
  assert.equal(buffer[0], 0x81);
  assert.deepEqual(JSON.parse(buffer.subarray(2, 2 + (buffer[1] ?? 0)).toString()), {
    type: 'epoch',
    epoch: server.feed.epoch,
  });
  buffer = buffer.subarray(2 + (buffer[1] ?? 0));
  return {
    socket,
    received: () => buffer,
    closeCode: async () => {
      // The server's close frame: 0x88, length, then the code.
      await until(() => buffer.length >= 4 && buffer[0] === 0x88, 'a close frame');
      return buffer.readUInt16BE(2);
    },
  };
}

/** A client frame: FIN, opcode, masked (unless told not to); payloads up to 64 KiB. */
function frame(opcode: number, payload: Buffer, masked = true): Buffer {
  const mask = randomBytes(4);
  const body = masked ? Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0))) : payload;
  const length = payload.length < 126 ? [payload.length] : [126, payload.length >> 8, payload.length & 0xff];
  length[0] = (length[0] ?? 0) | (masked ? 0x80 : 0);
  return Buffer.concat([Buffer.from([0x80 | opcode, ...length]), masked ? mask : Buffer.alloc(0), body]);
}

/** The whole frames a server sent (unmasked), in order. */
function serverFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = (bytes[at + 1] ?? 0) & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > bytes.length) break;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) break;
    frames.push({ opcode: (bytes[at] ?? 0) & 0x0f, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

test('raw: an unmasked client frame is a protocol error (1002)', async (t) => {
  const server = await startServer(t);
  const { socket, closeCode } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.write(frame(0x1, Buffer.from('{"type":"publish"}'), false));
  assert.equal(await closeCode(), 1002);
});

test('raw: invalid UTF-8 in a text frame closes with 1007', async (t) => {
  const server = await startServer(t);
  const { socket, closeCode } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.write(
    frame(0x1, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80])),
  );
  assert.equal(await closeCode(), 1007);
});

test('raw: a reserved opcode is a protocol error (1002)', async (t) => {
  const server = await startServer(t);
  const { socket, closeCode } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.write(frame(0x3, Buffer.from('x')));
  assert.equal(await closeCode(), 1002);
});

// Autobahn 7.9.x: close codes a peer may not send (1004-1006, 1015, out of range).
for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
  test(`raw: a close frame with code ${code} is a protocol error (1002)`, async (t) => {
    const server = await startServer(t);
    const { socket, closeCode } = await rawSocket(server);
    t.after(() => socket.destroy());
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    socket.write(frame(0x8, payload));
    assert.equal(await closeCode(), 1002);
  });
}

test("raw: a valid close code is echoed in the server's close frame (Autobahn 7.7)", async (t) => {
  const server = await startServer(t);
  const { socket, closeCode } = await rawSocket(server);
  t.after(() => socket.destroy());
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(3000);
  socket.write(frame(0x8, payload));
  assert.equal(await closeCode(), 3000);
});

test('raw: a fragmented control frame is a protocol error (1002, Autobahn 5.1)', async (t) => {
  const server = await startServer(t);
  const { socket, closeCode } = await rawSocket(server);
  t.after(() => socket.destroy());
  const ping = frame(0x9, Buffer.from('ping'));
  ping[0] = 0x09; // FIN cleared
  socket.write(ping);
  assert.equal(await closeCode(), 1002);
});

test('raw: a continuation frame with nothing to continue is a protocol error (1002, Autobahn 5.9)', async (t) => {
  const server = await startServer(t);
  const { socket, closeCode } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.write(frame(0x0, Buffer.from('orphan')));
  assert.equal(await closeCode(), 1002);
});

test('raw: a publish split over fragments is put back together and acked (Autobahn 5.6)', async (t) => {
  const server = await startServer(t);
  const { socket } = await rawSocket(server);
  t.after(() => socket.destroy());
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  const json = Buffer.from(JSON.stringify({ type: 'publish', author: 'ada', text: 'in pieces', ref: 'r1' }));
  const first = frame(0x1, json.subarray(0, 10));
  first[0] = 0x01; // FIN cleared, text
  socket.write(first);
  socket.write(frame(0x0, json.subarray(10)));
  await until(() => text.includes('"type":"ack"'), 'the ack');
  assert.match(text, /"ref":"r1"/);
});

// Abuse: every cut has a close code, and the log stays quiet.

async function abuseCounts(server: TestServer): Promise<AbuseCounts> {
  return ((await (await fetch(`${server.url}/api/stats`)).json()) as { abuse: AbuseCounts }).abuse;
}

/** The code and reason of the close frame that ends `frames`; undefined when they end otherwise. */
function closeOf(frames: { opcode: number; payload: Buffer }[]): { code: number; reason: string } | undefined {
  const last = frames.at(-1);
  if (last?.opcode !== 0x8) return undefined;
  return { code: last.payload.readUInt16BE(0), reason: last.payload.subarray(2).toString() };
}

/** Reads what the server sent on a paused raw socket until the server ends the connection. */
async function readToEnd(socket: net.Socket, received: () => Buffer): Promise<{ opcode: number; payload: Buffer }[]> {
  socket.resume();
  await until(() => socket.closed, 'the server to end the connection');
  return serverFrames(received());
}

test(`a burst of pings past the budget (${DEFAULT_CONFIG.wsPingBudget}) gets its pongs, then close 1008 with a reason, not a cut`, async (t) => {
  const server = await startServer(t);
  const { socket } = await connect(t, server);
  let pongs = 0;
  socket.on('pong', () => (pongs += 1));
  const closed = once(socket, 'close') as Promise<[number, Buffer]>;
  for (let i = 0; i < 1000; i += 1) socket.ping();
  const [code, reason] = await closed;
  assert.equal(code, 1008);
  assert.equal(reason.toString(), 'too many pings');
  assert.equal(pongs, DEFAULT_CONFIG.wsPingBudget, 'every ping within the budget was answered');
  assert.equal((await abuseCounts(server)).websocketPolicyCloses, 1);
});

test('raw: a ping flood from a client that reads nothing still ends with a close frame (1008)', async (t) => {
  const server = await startServer(t);
  const { socket, received } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.pause();
  const ping = frame(0x9, Buffer.from('are you there'));
  socket.write(Buffer.concat(Array.from({ length: 1000 }, () => ping)));
  await until(() => server.feed.listenerCount === 0, 'the server to give the client up');
  const frames = await readToEnd(socket, received);
  assert.deepEqual(closeOf(frames), { code: 1008, reason: 'too many pings' });
  assert.equal(frames.filter((f) => f.opcode === 0xa).length, DEFAULT_CONFIG.wsPingBudget, 'pongs within the budget');
});

test('a client pinging within the budget gets every pong and stays open', async (t) => {
  const server = await startServer(t);
  const { socket, frames } = await connect(t, server);
  const payloads: string[] = [];
  socket.on('pong', (data) => payloads.push(data.toString()));
  for (let i = 0; i < DEFAULT_CONFIG.wsPingBudget; i += 1) socket.ping(`p${i}`);
  await until(() => payloads.length === DEFAULT_CONFIG.wsPingBudget, 'every pong');
  assert.deepEqual(
    payloads,
    Array.from({ length: DEFAULT_CONFIG.wsPingBudget }, (_, i) => `p${i}`),
  );
  socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'still here' }));
  await until(() => frames.some((f) => f.type === 'ack'), 'an ack after the pings');
  assert.equal(socket.readyState, WebSocket.OPEN);
});

test('raw: a client that pings without reading its pongs is dropped as slow, with a close frame (1013)', async (t) => {
  // A budget out of reach, so only the full buffer can stop it.
  const server = await startServer(t, { config: { wsPingBudget: 1_000_000, slowClientTimeoutMs: 300 } });
  const { socket, received } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.on('error', () => undefined); // a server that cuts the socket fails the assertions below
  socket.pause();
  const ping = frame(0x9, Buffer.alloc(125, 0x70));
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
  let pings = 0;
  // About 4 MB of pongs fill the kernel's buffers on loopback; stop at 40 MB of pings.
  while (server.feed.listenerCount > 0 && pings < 300_000 && !socket.destroyed) {
    if (!socket.write(batch)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
    pings += 1000;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await until(() => server.feed.listenerCount === 0, 'the server to drop the client');
  const frames = await readToEnd(socket, received);
  const pongs = frames.filter((f) => f.opcode === 0xa).length;
  console.log(`dropped after ${pings} pings, ${pongs} pongs written`);
  assert.deepEqual(closeOf(frames), { code: 1013, reason: 'too slow: reconnect with your cursor' });
  assert.ok(pongs < pings, 'pongs stopped once the buffer was full');
});

test('raw: a protocol error behind a full buffer still gets its close frame (1002), not a cut', async (t) => {
  const server = await startServer(t);
  const { socket, received } = await rawSocket(server);
  t.after(() => socket.destroy());
  socket.pause();
  // 8 MB published at a client that reads nothing: the kernel's buffers are full, and the
  // server holds the rest.
  const text = 'x'.repeat(4000);
  for (let i = 0; i < 2000; i += 1) {
    await server.feed.publish({ author: 'ada', text });
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  socket.write(frame(0x1, Buffer.from('{}'), false));
  // Well within the close grace: the server must still be holding the close frame.
  await new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS / 5));
  const frames = await readToEnd(socket, received);
  assert.ok(frames.length > 100, `the backlog arrived (${frames.length} frames)`);
  assert.equal(closeOf(frames)?.code, 1002);
});

const VIOLATIONS: [string, () => Buffer, number][] = [
  ['an unmasked frame', () => frame(0x1, Buffer.from('{}'), false), 1002],
  ['a reserved opcode', () => frame(0x3, Buffer.from('x')), 1002],
  ['invalid UTF-8', () => frame(0x1, Buffer.from([0xed, 0xa0, 0x80])), 1007],
  ['a frame over the body limit', () => frame(0x1, Buffer.alloc(8193, 0x78)), 1009],
  ['close code 1004', () => frame(0x8, Buffer.from([0x03, 0xec])), 1002],
  ['a fragmented ping', () => Buffer.from([0x09, ...frame(0x9, Buffer.from('x')).subarray(1)]), 1002],
  ['an orphan continuation', () => frame(0x0, Buffer.from('orphan')), 1002],
  ['a ping over 125 bytes', () => frame(0x9, Buffer.alloc(126)), 1002],
];

/** Sends each violation `rounds` times, each on its own connection, and checks its close code. */
async function violate(server: TestServer, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await Promise.all(
      VIOLATIONS.map(async ([what, bytes, expected]) => {
        const { socket, closeCode } = await rawSocket(server);
        try {
          socket.write(bytes());
          assert.equal(await closeCode(), expected, what);
        } finally {
          socket.destroy();
        }
      }),
    );
  }
}

test('200 protocol violations: each closed with its code and counted, without one error line in the log', async (t) => {
  const lines: string[] = [];
  const server = await startServer(t, {
    config: { logLevel: 'info', maxTextBytes: 1000, bodyLimitBytes: 8192 },
    logStream: { write: (line) => lines.push(line) },
  });
  await violate(server, 200 / VIOLATIONS.length);
  const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; abuse?: AbuseCounts });
  assert.deepEqual(
    entries.filter((entry) => entry.level >= 50),
    [],
    'no error lines',
  );
  const warnings = entries.filter((entry) => entry.level === 40);
  assert.equal(warnings.length, 1, 'one warn line sums the abuse up');
  assert.equal(warnings[0]?.abuse?.websocketProtocolErrors, 1, 'written at the first violation');
  assert.ok(!lines.some((line) => line.includes('"stack"')), 'no stack traces');
  const bytes = lines.reduce((sum, line) => sum + line.length, 0);
  console.log(`log at info after 200 violations: ${lines.length} lines, ${bytes} bytes`);
  assert.deepEqual(await abuseCounts(server), {
    websocketProtocolErrors: 200,
    websocketPolicyCloses: 0,
    rateLimitedPublishes: 0,
  });
});

test('at debug level each protocol violation is one line with its ws code, without a stack', async (t) => {
  const lines: string[] = [];
  const server = await startServer(t, {
    config: { logLevel: 'debug', maxTextBytes: 1000, bodyLimitBytes: 8192 },
    logStream: { write: (line) => lines.push(line) },
  });
  await violate(server, 1);
  const entries = lines.map((line) => JSON.parse(line) as { level: number; abuse?: string; code?: string });
  const violations = entries.filter((entry) => entry.abuse === 'websocketProtocolErrors');
  assert.equal(violations.length, VIOLATIONS.length);
  assert.ok(violations.every((entry) => entry.level === 20 && entry.code?.startsWith('WS_ERR_')));
  assert.ok(!lines.some((line) => line.includes('"stack"')), 'no stack traces');
});

test('rate-limited publishes (HTTP 429 and WebSocket) and 1008 closes are counted in /api/stats', async (t) => {
  const server = await startServer(t, { config: { publishRatePerClient: 1, publishBurst: 2 } });
  const post = () =>
    fetch(`${server.url}/api/messages?client=http`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'ada', text: 'hi' }),
    });
  const statuses = [(await post()).status, (await post()).status, (await post()).status];
  assert.deepEqual(statuses, [201, 201, 429]);

  // One frame at a time, each after the answer to the last, so every refusal is answered.
  const flood = new WebSocket(wsUrl(server, '?client=flood'));
  const answers: string[] = [];
  // The socket follows the feed too: keep the answers to its own frames.
  flood.on('message', (data) => {
    if ((JSON.parse(data.toString()) as { type?: string }).type !== undefined) answers.push(data.toString());
  });
  let closeCode = 0;
  flood.on('close', (code) => (closeCode = code));
  await once(flood, 'open');
  for (let sent = 1; closeCode === 0; sent += 1) {
    flood.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'flood' }));
    await until(() => answers.length >= sent || closeCode !== 0, 'an answer or the close');
  }
  assert.equal(closeCode, 1008);
  const refused = answers.filter((answer) => answer.includes('faster than its limit')).length;
  assert.ok(refused >= MAX_BAD_FRAMES_IN_A_ROW);

  const pinger = new WebSocket(wsUrl(server));
  let pingerCode = 0;
  pinger.on('close', (code) => (pingerCode = code));
  await once(pinger, 'open');
  for (let i = 0; i <= DEFAULT_CONFIG.wsPingBudget; i += 1) pinger.ping();
  await until(() => pingerCode !== 0, 'the pinger to be closed');
  assert.equal(pingerCode, 1008);

  const counts = await abuseCounts(server);
  assert.equal(counts.websocketPolicyCloses, 2);
  assert.equal(counts.websocketProtocolErrors, 0);
  assert.equal(counts.rateLimitedPublishes, 1 + refused, 'the 429 and every refused frame');
});

test('serverFrame: a ws client reads every length form (7, 16 and 64 bits), text and binary, byte for byte', async (t) => {
  // A bare TCP server that accepts the handshake (RFC 6455 §4.2.2) and then writes only
  // frames serverFrame made: the client's own parser is the judge.
  const lengths = [0, 1, 125, 126, 65_535, 65_536, 100_000];
  const payloads = lengths.flatMap((length) => [
    { binary: false, bytes: Buffer.alloc(length, 'é'.charCodeAt(0) % 128) },
    { binary: true, bytes: randomBytes(length) },
  ]);
  const server = net.createServer((socket) => {
    socket.once('data', (head) => {
      const key = /sec-websocket-key: *(\S+)/i.exec(head.toString())?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      for (const { binary, bytes } of payloads) socket.write(serverFrame(binary ? 0x2 : 0x1, bytes));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  t.after(() => client.terminate());
  const received: { binary: boolean; bytes: Buffer }[] = [];
  client.on('message', (data, isBinary) => received.push({ binary: isBinary, bytes: data as Buffer }));
  await until(() => received.length === payloads.length, 'every frame');
  // ws reads a longer length form than needed too; RFC 6455 §5.2 asks for the shortest.
  for (const length of lengths) {
    const header = serverFrame(0x1, Buffer.alloc(length)).byteLength - length;
    assert.equal(header, length < 126 ? 2 : length < 65_536 ? 4 : 10, `the header of ${length} bytes`);
  }
  for (const [index, { binary, bytes }] of payloads.entries()) {
    assert.equal(received[index]?.binary, binary, `frame ${index}: its opcode`);
    assert.ok(received[index]?.bytes.equals(bytes), `frame ${index}: its ${bytes.byteLength} bytes`);
  }
});

test("frames written past ws keep their order beside ws's own: each published message before its ack, every pong, then the close frame", async (t) => {
  const server = await startServer(t);
  const socket = new WebSocket(wsUrl(server));
  t.after(() => socket.terminate());
  const seen: string[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type?: string; id?: number; ref?: string };
    if (frame.type === undefined) seen.push(`message ${frame.id}`);
    else if (frame.type === 'ack') seen.push(`ack ${frame.id}`);
  });
  let pongs = 0;
  socket.on('pong', () => (pongs += 1));
  await once(socket, 'open');
  const PUBLISHES = 40;
  for (let i = 1; i <= PUBLISHES; i += 1) {
    socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: `n${i}`, ref: `r${i}` }));
    if (i % 4 === 0) socket.ping();
  }
  await until(() => seen.filter((entry) => entry.startsWith('ack')).length === PUBLISHES, 'every ack');
  // The message reaches its publisher's own socket (written by the feed's notification,
  // past ws) before the ack that answers its publish (sent through ws, after the feed).
  for (let id = 1; id <= PUBLISHES; id += 1) {
    assert.ok(seen.indexOf(`message ${id}`) >= 0, `message ${id} arrived`);
    assert.ok(seen.indexOf(`message ${id}`) < seen.indexOf(`ack ${id}`), `message ${id} before its ack`);
  }
  await until(() => pongs === PUBLISHES / 4, 'every pong');
  socket.close(1000);
  const [code] = (await once(socket, 'close')) as [number];
  assert.equal(code, 1000);
});
