import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import WebSocket from 'ws';
import { techniques, withCapabilities } from './contract/techniques.js';
import { BUFFER_RELEASE_BYTES, MAX_BLOCKED_CLIENTS } from './blocks.ts';
import { type TestServer, publish, startServer, testCertificate, until } from '../test/support.ts';
import { buildApp } from './app.ts';

const [upgrading] = withCapabilities({ upgrades: true });
const [stream] = withCapabilities({ streams: true, holdsRequest: true });
const [poller] = withCapabilities({ pollsWhenIdle: true });
if (!upgrading || !stream || !poller)
  throw new Error('the registry has no upgrading, held-stream or polling technique');

async function putBlocks(server: TestServer, client: string, body: unknown) {
  const response = await fetch(`${server.url}/api/blocks?client=${client}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { code?: string; message: string } };
}

/** The status a WebSocket handshake got: 101, or what refused it. */
async function handshake(server: TestServer, client: string): Promise<number> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/${upgrading?.id}?client=${client}`);
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.terminate();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/** A held stream's request: resolves `headers` when the response's headers arrive, and collects its body. */
function openStream(server: TestServer, client: string) {
  const request = http.get(`${server.url}/api/${stream?.id}?client=${client}`);
  let body = '';
  let headersAt: number | undefined;
  request.on('response', (response) => {
    headersAt = performance.now();
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
    });
  });
  request.on('error', () => undefined);
  return {
    get headersArrived() {
      return headersAt !== undefined;
    },
    get body() {
      return body;
    },
    close: () => request.destroy(),
  };
}

test('a refused upgrade is answered with the error instead of 101, for the client that set it alone', async (t) => {
  const server = await startServer(t);
  assert.equal((await putBlocks(server, 'pupil', { [upgrading.id]: 'refuse' })).status, 200);
  assert.equal(await handshake(server, 'pupil'), 403);
  assert.equal(await handshake(server, 'neighbour'), 101);
  await fetch(`${server.url}/api/blocks?client=pupil`, { method: 'DELETE' });
  assert.equal(await handshake(server, 'pupil'), 101);
});

test('a refused HTTP technique answers RTL_TECHNIQUE_BLOCKED in the error format', async (t) => {
  const server = await startServer(t);
  await putBlocks(server, 'pupil', { [poller.id]: 'refuse' });
  const refused = await fetch(`${server.url}/api/${poller.id}?client=pupil`);
  assert.equal(refused.status, 403);
  const error = (await refused.json()) as { code: string; message: string };
  assert.equal(error.code, 'RTL_TECHNIQUE_BLOCKED');
  assert.match(error.message, new RegExp(poller.id));
  assert.equal((await fetch(`${server.url}/api/${poller.id}?client=neighbour`)).status, 200);
  assert.equal((await fetch(`${server.url}/api/${poller.id}`)).status, 200);
  // The refusal still costs the client its request's bytes, as the server counts them.
  const stats = (await (await fetch(`${server.url}/api/stats?client=pupil`)).json()) as {
    techniques: Record<string, { bytesIn: { headers: number } } | undefined>;
  };
  assert.ok((stats.techniques[poller.id]?.bytesIn.headers ?? 0) > 0);
});

test('a buffered stream is silent, headers included, until the bound is reached, then released', async (t) => {
  const server = await startServer(t);
  await putBlocks(server, 'pupil', { [stream.id]: 'buffer' });
  const held = openStream(server, 'pupil');
  const free = openStream(server, 'neighbour');
  t.after(() => {
    held.close();
    free.close();
  });
  await until(() => free.headersArrived, 'the unblocked stream opening');
  await publish(server.url, { author: 'ada', text: 'first' });
  await until(() => free.body.includes('first'), 'the first message on the unblocked stream');
  // Waited for as long as the unblocked one took, and as long again: still nothing.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(held.headersArrived, false);
  assert.ok(server.blocks.heldBytes > 0, 'the server holds what it wrote');
  const text = 'x'.repeat(1000);
  for (let i = 0; i * 1000 < BUFFER_RELEASE_BYTES; i += 1) await publish(server.url, { author: 'ada', text });
  await until(() => held.headersArrived && held.body.includes('first'), 'the buffered stream released');
  held.close();
  await until(() => server.blocks.heldBytes === 0, 'the held bytes forgotten once the client hangs up');
});

test('the body is validated: unknown technique, unknown mode, buffer on a technique that holds no request', async (t) => {
  const server = await startServer(t);
  const unknown = await putBlocks(server, 'pupil', { carrier_pigeon: 'refuse' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'RTL_BAD_BLOCKS');
  for (const technique of techniques) assert.match(unknown.body.message, new RegExp(technique.id));
  const mode = await putBlocks(server, 'pupil', { [stream.id]: 'drop' });
  assert.equal(mode.status, 400);
  assert.match(mode.body.message, /none, refuse, buffer/);
  const unbufferable = await putBlocks(server, 'pupil', { [poller.id]: 'buffer' });
  assert.equal(unbufferable.status, 400);
  assert.equal((await putBlocks(server, 'pupil', ['refuse'])).status, 400);
  assert.equal((await fetch(`${server.url}/api/blocks`)).status, 400, 'no client named');
  const set = await putBlocks(server, 'pupil', { [stream.id]: 'buffer', [poller.id]: 'none' });
  assert.deepEqual(set.body, { client: 'pupil', blocks: { [stream.id]: 'buffer' } });
  const read = await (await fetch(`${server.url}/api/blocks?client=pupil`)).json();
  assert.deepEqual(read, set.body);
});

test('the clients kept are capped: the least recently used is forgotten', async (t) => {
  const server = await startServer(t);
  for (let i = 0; i <= MAX_BLOCKED_CLIENTS; i += 1) server.blocks.set(`c${i}`, { [poller.id]: 'refuse' });
  assert.deepEqual(server.blocks.get('c0'), {});
  assert.deepEqual(server.blocks.get(`c${MAX_BLOCKED_CLIENTS}`), { [poller.id]: 'refuse' });
  assert.deepEqual(server.blocks.get('c1'), { [poller.id]: 'refuse' });
});

test('over HTTP/2 a buffered stream holds its headers too, as over HTTP/1.1', async (t) => {
  // Not startServer(t, { tls }): its close is registered first, and would wait for this
  // session's open streams (see the after-hook below).
  const certificate = await testCertificate();
  const lab = await buildApp({ config: { tls: true, logLevel: 'silent' }, certificate });
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  const address = lab.app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server has no address');
  const origin = `https://127.0.0.1:${address.port}`;
  const session = http2.connect(origin, { ca: certificate.cert });
  t.after(async () => {
    // Gone first, and seen gone by the server: a close with this session's streams still
    // open on it does not end (the shutdown's farewell over HTTP/2, left as it is here).
    session.destroy();
    const connections = () =>
      new Promise<number>((resolve) => lab.app.server.getConnections((_error, count) => resolve(count)));
    for (let tries = 0; tries < 50 && (await connections()) > 0; tries += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await lab.app.close();
  });
  const open = (client: string) => {
    const request = session.request({ ':path': `/api/${stream.id}?client=${client}` });
    let body = '';
    let headersArrived = false;
    request.on('response', () => {
      headersArrived = true;
    });
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    return {
      get headersArrived() {
        return headersArrived;
      },
      get body() {
        return body;
      },
    };
  };
  lab.blocks.set('pupil', { [stream.id]: 'buffer' });
  const held = open('pupil');
  const free = open('neighbour');
  await until(() => free.headersArrived, 'the unblocked stream opening');
  await lab.feed.publish({ author: 'ada', text: 'first' });
  await until(() => free.body.includes('first'), 'the first message on the unblocked stream');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(held.headersArrived, false, 'the held stream answered before its bytes were released');
  const text = 'x'.repeat(1000);
  for (let i = 0; i * 1000 < BUFFER_RELEASE_BYTES; i += 1) await lab.feed.publish({ author: 'ada', text });
  await until(() => held.headersArrived && held.body.includes('first'), 'the buffered stream released');
});

test('a buffered stream whose client stops reading is still dropped, its backlog bounded', async (t) => {
  // The hold answered every write "there is room", so the stream never waited for its
  // client and never found it stalled: a page could block its own stream with "buffer",
  // stop reading, and have the server pile up everything published, for good.
  const server = await startServer(t, { config: { slowClientTimeoutMs: 300, iframeMaxBytes: 1024 * 1024 * 1024 } });
  await putBlocks(server, 'pupil', { [stream.id]: 'buffer' });
  const socket = net.connect({ port: Number(new URL(server.url).port), host: '127.0.0.1' });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(`GET /api/${stream.id}?client=pupil HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  socket.pause();
  await until(() => server.feed.listenerCount === 1, 'the subscription');
  const text = 'x'.repeat(4000);
  // 12 MB at most, published at a client that reads nothing.
  for (let i = 0; i < 3000 && server.feed.listenerCount > 0; i += 1) {
    await server.feed.publish({ author: 'ada', text });
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await until(() => server.feed.listenerCount === 0, 'the stalled client dropped', 3000);
  await until(() => server.blocks.heldBytes === 0, 'its held bytes forgotten');
});
