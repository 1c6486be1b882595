/**
 * What an idle connection keeps: an upgraded WebSocket lets go of Fastify's Request and
 * Reply, and the listeners every idle stream or WebSocket carries are plain ones, without
 * Node's `once` wrapper (docs/guarantees.md, "How the promises hold with thousands of
 * clients"). Memory per connection is measured by the crowd bench; these hold the causes.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { test } from '../test/suite.ts';
import { publish, until } from '../test/support.ts';
import { buildApp } from './app.ts';
import { withCapabilities } from './contract/techniques.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const upgrading = withCapabilities({ upgrades: true });
const holding = withCapabilities({ holdsRequest: true });

/** A server on port 0 whose every request and reply is watched through a WeakRef, and every raw request kept. */
async function watchedServer(t: { after: (fn: () => unknown) => void }) {
  const lab = await buildApp({ config: { logLevel: 'silent' } });
  const watched: { url: string; request: WeakRef<object>; reply: WeakRef<object> }[] = [];
  lab.app.addHook('onRequest', async (request, reply) => {
    watched.push({ url: request.url, request: new WeakRef(request), reply: new WeakRef(reply) });
  });
  const raw: IncomingMessage[] = [];
  // Weakly: an entry's value lives as long as its key, which `raw` keeps.
  const responses = new WeakMap<IncomingMessage, WeakRef<ServerResponse>>();
  lab.app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    raw.push(req);
    responses.set(req, new WeakRef(res));
  });
  // After @fastify/websocket's own 'upgrade' listener, which has given the request its response.
  lab.app.server.on('upgrade', (req: IncomingMessage) => {
    raw.push(req);
    const response = (req.socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (response) responses.set(req, new WeakRef(response));
  });
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => lab.app.close());
  const { port } = lab.app.server.address() as { port: number };
  const responseOf = (req: IncomingMessage) => responses.get(req)?.deref();
  return {
    url: `http://127.0.0.1:${port}`,
    watched,
    raw,
    responseOf,
    responseRefOf: (req: IncomingMessage) => responses.get(req),
  };
}

/** Collects garbage until `gone` holds or a few rounds have passed (a WeakRef clears only after its turn ends). */
async function collectedUntil(gone: () => boolean): Promise<boolean> {
  for (let round = 0; round < 5 && !gone(); round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return gone();
}

/** The listeners of `emitter` that Node's `once` wrapped, said with the event and the start of the function. */
function onceWrapped(emitter: NodeJS.EventEmitter | undefined | null, what: string): string[] {
  if (!emitter) return [];
  return emitter.eventNames().flatMap((event) =>
    emitter
      .rawListeners(event)
      .filter((listener) => 'listener' in listener)
      .map(
        (listener) =>
          `${what} '${String(event)}': ${String((listener as { listener: unknown }).listener).slice(0, 80)}`,
      ),
  );
}

for (const technique of upgrading) {
  test(`${technique.id}: an open connection keeps neither Fastify's Request nor its Reply, and still delivers`, async (t) => {
    const server = await watchedServer(t);
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/${technique.id}`, { origin: server.url });
    t.after(() => socket.terminate());
    const frames: string[] = [];
    socket.on('message', (data) => frames.push(String(data)));
    await once(socket, 'open');
    const handshake = server.watched.find((entry) => entry.url.startsWith(`/api/${technique.id}`));
    assert.ok(handshake, 'the handshake went through the onRequest hooks');
    // And Node's own objects of the handshake: the IncomingMessage (its headers, its URL)
    // and the ServerResponse an upgrade is given, which is never written.
    const index = server.raw.findIndex((req) => req.url?.startsWith(`/api/${technique.id}`));
    const rawRequest = new WeakRef(server.raw[index] as IncomingMessage);
    const rawResponse = server.responseRefOf(server.raw[index] as IncomingMessage);
    assert.ok(rawResponse, 'the upgrade was given a response');
    server.raw.splice(index, 1);
    assert.ok(
      await collectedUntil(() => handshake.request.deref() === undefined && handshake.reply.deref() === undefined),
      'the Request and the Reply of an open WebSocket are collected',
    );
    assert.ok(
      await collectedUntil(() => rawRequest.deref() === undefined && rawResponse.deref() === undefined),
      "the handshake's IncomingMessage and ServerResponse of an open WebSocket are collected",
    );
    const text = 'after the handshake was let go of';
    await publish(server.url, { author: 'test', text });
    await until(() => frames.some((frame) => frame.includes(text)), 'the message on the WebSocket');
  });
}

test('an idle stream, held poll or WebSocket carries no once wrapper on its response or socket', async (t) => {
  const server = await watchedServer(t);
  const ends: (() => void)[] = [];
  t.after(() => {
    for (const end of ends) end();
  });
  for (const { id } of holding) {
    const controller = new AbortController();
    ends.push(() => controller.abort());
    // A held long poll answers only when something is published: its request arriving is enough.
    fetch(`${server.url}/api/${id}`, { signal: controller.signal }).catch(() => {});
  }
  for (const { id } of upgrading) {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/${id}`, { origin: server.url });
    ends.push(() => socket.terminate());
    await once(socket, 'open');
  }
  const opened = (id: string) => server.raw.some((req) => req.url?.startsWith(`/api/${id}`));
  await until(() => [...holding, ...upgrading].every(({ id }) => opened(id)), 'every connection open');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const found = server.raw.flatMap((req) => [
    ...onceWrapped(server.responseOf(req), `${req.url} response`),
    ...onceWrapped(req.socket, `${req.url} socket`),
  ]);
  assert.deepEqual(found, []);
});

test("an open WebSocket's socket has two 'close' listeners, ws's and the guard's, no cached peer address, and its close is still counted", async (t) => {
  // A third listener, even one taken off again, has V8 grow the socket's listener array to
  // 19 slots for the connection's life: the wire meter hears the close through the
  // connection guard's listener, and a handshake's listeners (the classroom's, for the
  // client id) move to the WebSocket's 'close'.
  const server = await watchedServer(t);
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/websocket?client=listeners-1`, {
    origin: server.url,
  });
  t.after(() => socket.terminate());
  await once(socket, 'message');
  const req = server.raw.find((request) => request.url?.startsWith('/api/websocket'));
  assert.ok(req, 'the handshake reached the server');
  assert.equal(req.socket.listenerCount('close'), 2);
  // The guard counted the connection under its address without Node keeping that address
  // on the socket (`_peername`, which a read of `remoteAddress` fills for the socket's
  // life): ~100 bytes an idle connection would hold.
  assert.equal((req.socket as Socket & { _peername?: unknown })._peername, undefined, 'no peer address cached');
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as {
    connections: { addresses: number; mostFromOneAddress: number };
  };
  assert.equal(stats.connections.addresses, 1, 'one address: 127.0.0.1');
  assert.ok(stats.connections.mostFromOneAddress >= 1);
  const counters = async () =>
    (
      (await (await fetch(`${server.url}/api/stats?client=listeners-1`)).json()) as {
        techniques: Record<string, { openConnections: number; activeRequests: number; bytesIn: { body: number } }>;
      }
    ).techniques.websocket;
  assert.equal((await counters())?.openConnections, 1);
  socket.send(JSON.stringify({ type: 'publish', author: 'listeners', text: 'counted' }));
  await once(socket, 'message');
  socket.close();
  await once(socket, 'close');
  const deadline = Date.now() + 5000;
  let closed = await counters();
  while (closed?.openConnections !== 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    closed = await counters();
  }
  assert.equal(closed?.openConnections, 0, 'the close counted');
  assert.equal(closed?.activeRequests, 0);
  assert.ok((closed?.bytesIn.body ?? 0) > 0, 'the publish frame counted as read');
});
