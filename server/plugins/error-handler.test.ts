/**
 * Retry-After comes from one place, the error handler, on every refusal that says when to
 * come back, each asked for by a real client: the publish rate limit (429, the wait
 * rounded up to whole seconds), the connection cap of a technique (503, over HTTP and
 * before a WebSocket upgrade), the connection cap of an address (503), and the feed away
 * (503: a Redis feed whose Redis is not there, which needs no redis-server). A refusal
 * that says nothing of the kind (400) carries none.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { DEFAULT_CONFIG } from '../config.ts';
import { ADDRESS_RETRY_AFTER_S, CONNECTIONS_RETRY_AFTER_S, FEED_RETRY_AFTER_S } from '../errors.ts';
import { RedisFeed } from '../redis-feed.ts';
import { startServer, until } from '../../test/support.ts';

const publish = (url: string, client = 'retry') =>
  fetch(`${url}/api/messages?client=${client}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'ada', text: 'hi' }),
  });

/** A port nothing listens on: taken from the kernel, then given back. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

test('a publish past its rate gets 429 with Retry-After: the wait in whole seconds, rounded up', async (t) => {
  // One token every 4 s: the second publish, moments after the first, waits just under 4 s.
  const server = await startServer(t, { config: { publishRatePerClient: 0.25, publishBurst: 1 } });
  assert.equal((await publish(server.url)).status, 201);
  const refused = await publish(server.url);
  assert.equal(refused.status, 429);
  const { code, message } = (await refused.json()) as { code: string; message: string };
  assert.equal(code, 'RTL_RATE_LIMITED');
  // The message says the wait in ms: read from it, so a slow machine changes nothing.
  const waitMs = Number(/wait (\d+) ms$/.exec(message)?.[1]);
  assert.ok(waitMs > 1000 && waitMs <= 4000, `a wait of about 4 s, got ${waitMs} ms`);
  assert.equal(refused.headers.get('retry-after'), String(Math.ceil(waitMs / 1000)));
});

test(`past a technique's connection cap, a stream and a WebSocket handshake get 503 with Retry-After: ${CONNECTIONS_RETRY_AFTER_S}`, async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerTechnique: 1 } });
  const stream = httpRequest(`${server.url}/api/sse`);
  stream.end();
  t.after(() => stream.destroy());
  const [first] = (await once(stream, 'response')) as [import('node:http').IncomingMessage];
  assert.equal(first.statusCode, 200);
  const refused = await fetch(`${server.url}/api/sse`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), String(CONNECTIONS_RETRY_AFTER_S));
  assert.equal(((await refused.json()) as { code: string }).code, 'RTL_TOO_MANY_CONNECTIONS');

  const url = `${server.url.replace('http', 'ws')}/api/websocket`;
  const open = new WebSocket(url);
  t.after(() => open.terminate());
  await once(open, 'open');
  const second = new WebSocket(url);
  second.on('error', () => undefined);
  const [, response] = (await once(second, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
  assert.equal(response.statusCode, 503);
  assert.equal(response.headers['retry-after'], String(CONNECTIONS_RETRY_AFTER_S));
  response.destroy();
});

test(`past an address's connection cap, a request gets 503 with Retry-After: ${ADDRESS_RETRY_AFTER_S}`, async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerAddress: 1 } });
  const idle = net.connect({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
  idle.on('error', () => undefined);
  t.after(() => idle.destroy());
  await once(idle, 'connect');
  await until(() => server.connections.figures().mostFromOneAddress === 1, 'the idle connection to count');
  // A path no route serves: the refusal comes before routing, through the 404's context.
  const refused = await fetch(`${server.url}/no/such/page`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), String(ADDRESS_RETRY_AFTER_S));
  assert.equal(((await refused.json()) as { code: string }).code, 'RTL_TOO_MANY_ADDRESS_CONNECTIONS');
});

test(`a publish the feed cannot take (its Redis is not there) gets 503 with Retry-After: ${FEED_RETRY_AFTER_S}`, async (t) => {
  const feed = await RedisFeed.open({
    url: `redis://127.0.0.1:${await closedPort()}`,
    historySize: DEFAULT_CONFIG.historySize,
    connectWaitMs: 0,
    log: () => {},
  });
  t.after(() => feed.close());
  const server = await startServer(t, { feed });
  const refused = await publish(server.url);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), String(FEED_RETRY_AFTER_S));
  assert.equal(((await refused.json()) as { code: string }).code, 'RTL_FEED_UNAVAILABLE');
});

test('a refusal that does not say when to come back (a bad cursor, 400) carries no Retry-After', async (t) => {
  const server = await startServer(t);
  const refused = await fetch(`${server.url}/api/short-polling?since=-1`);
  assert.equal(refused.status, 400);
  assert.equal(refused.headers.get('retry-after'), null);
});
