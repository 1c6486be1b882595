import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { type TestServer, startServer, until } from '../testing.ts';
import { MAX_BAD_FRAMES_IN_A_ROW } from './websocket.ts';

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
async function refusedHandshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
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
  assert.deepEqual(publisher.frames.find((frame) => frame.type === 'ack'), { type: 'ack', id: 1, ref: 'r1' });
  await until(() => listener.frames.length === 1, 'the message on another socket');
  assert.equal(listener.frames[0]?.text, 'over the socket');
  const polled = (await (await fetch(`${server.url}/api/short-polling?since=0`)).json()) as { messages: { text: string }[] };
  assert.deepEqual(polled.messages.map((message) => message.text), ['over the socket']);
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
  const server = await startServer(t, { config: { bodyLimitBytes: 8192 } });
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
  assert.match((JSON.parse(body) as { message: string }).message, /Origin "http:\/\/evil.example" may not open a WebSocket/);
  assert.equal(server.feed.listenerCount, 0);
});

test('the server\'s own origin, an allowed origin, and no Origin at all may connect', async (t) => {
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

test('permessage-deflate is not negotiated even when the client offers it', async (t) => {
  const server = await startServer(t);
  const socket = new WebSocket(wsUrl(server), { perMessageDeflate: true });
  const opened = once(socket, 'open'); // 'open' follows 'upgrade' in the same tick
  const [response] = (await once(socket, 'upgrade')) as [import('node:http').IncomingMessage];
  assert.equal(response.headers['sec-websocket-extensions'], undefined);
  await opened;
  assert.equal(socket.extensions, '');
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

async function rawSocket(server: TestServer): Promise<{ socket: net.Socket; closeCode: () => Promise<number> }> {
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
  assert.deepEqual(JSON.parse(buffer.subarray(2, 2 + (buffer[1] ?? 0)).toString()), { type: 'epoch', epoch: server.feed.epoch });
  buffer = buffer.subarray(2 + (buffer[1] ?? 0));
  return {
    socket,
    closeCode: async () => {
      // The server's close frame: 0x88, length, then the code.
      await until(() => buffer.length >= 4 && buffer[0] === 0x88, 'a close frame');
      return buffer.readUInt16BE(2);
    },
  };
}

/** A client frame: FIN, opcode, masked (unless told not to). */
function frame(opcode: number, payload: Buffer, masked = true): Buffer {
  const mask = randomBytes(4);
  const body = masked ? Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0))) : payload;
  return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]), masked ? mask : Buffer.alloc(0), body]);
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
  socket.write(frame(0x1, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80])));
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

test('raw: a valid close code is echoed in the server\'s close frame (Autobahn 7.7)', async (t) => {
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
