/**
 * The wire accounting of /api/stats, checked against an independent count: a TCP proxy
 * in the test counts every byte each way, and the server's figures must match it exactly.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { WireCounters } from './wire.ts';
import { publish, startServer, until } from '../test/support.ts';
import { clientFor } from '../test/clients/index.ts';
import { techniques, withCapabilities } from './contract/techniques.js';

interface CountingProxy {
  url: string;
  /** Bytes client → server and server → client, over every connection so far. */
  up: number;
  down: number;
  /** The raw client → server and server → client streams, for counting requests and headers. */
  upText: string;
  downText: string;
  open: number;
  /** Closes every proxied connection, as a client going away would. */
  cutAll(): void;
}

async function countingProxy(t: import('node:test').TestContext, targetPort: number): Promise<CountingProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: CountingProxy = {
    url: '',
    up: 0,
    down: 0,
    upText: '',
    downText: '',
    open: 0,
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
  const server = net.createServer((client) => {
    proxy.open += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.on('data', (chunk) => {
      proxy.up += chunk.length;
      proxy.upText += chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      proxy.down += chunk.length;
      proxy.downText += chunk.toString('latin1');
      client.write(chunk);
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      proxy.open -= 1;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address() as net.AddressInfo;
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}

async function stats(url: string): Promise<Record<string, WireCounters>> {
  const response = await fetch(`${url}/api/stats`);
  return ((await response.json()) as { techniques: Record<string, WireCounters> }).techniques;
}

/** Header blocks of HTTP responses in a raw stream (each up to and including CRLF CRLF). */
function responseHeaderBytes(raw: string): number {
  let total = 0;
  for (const match of raw.matchAll(/HTTP\/1\.1 \d{3}[\s\S]*?\r\n\r\n/g)) total += match[0].length;
  return total;
}

for (const entry of techniques) {
  const technique = entry.id;
  test(`${technique}: bytes in and out match a counting proxy exactly, and so do requests and messages`, async (t) => {
    const server = await startServer(t);
    const proxy = await countingProxy(t, Number(new URL(server.url).port));
    const client = await clientFor(entry)(proxy.url, { since: 0, pollIntervalMs: 50 });
    for (let i = 1; i <= 5; i += 1)
      await publish(server.url, { author: 'ada', text: `message ${i} ${'x'.repeat(i * 10)}` });
    await client.received(5);
    await client.close();
    // fetch keeps idle connections for reuse: cut them, as a client leaving would. (A
    // closing fetch may open a spare connection that never sends a byte; it counts nothing.)
    proxy.cutAll();

    // Every request a client made starts with a request line (or is the upgrade request).
    const requests = proxy.upText.match(/^GET \/api\/\S+ HTTP\/1\.1\r\n/gm)?.length ?? 0;
    let counters: WireCounters | undefined;
    // The server sees the close a moment after the proxy does.
    const deadline = Date.now() + 5000;
    for (;;) {
      counters = (await stats(server.url))[technique];
      assert.ok(counters);
      if ((counters.openConnections === 0 && counters.activeRequests === 0) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(counters);
    assert.equal(counters.bytesIn.headers + counters.bytesIn.body, proxy.up, 'bytes in = client → server');
    assert.equal(counters.bytesOut.headers + counters.bytesOut.body, proxy.down, 'bytes out = server → client');
    assert.equal(counters.httpRequests, requests, 'one per request line the proxy saw');
    assert.equal(counters.messagesDelivered, client.messages.length);
    const payload = client.messages.reduce((sum, message) => sum + Buffer.byteLength(JSON.stringify(message)), 0);
    assert.equal(counters.payloadBytes, payload);
    assert.equal(counters.bytesOut.headers, responseHeaderBytes(proxy.downText), 'response header blocks, exactly');
    // A plain request (a GET) has no body; after an upgrade, everything up is frames.
    assert.equal(counters.bytesIn.body, entry.capabilities.upgrades ? proxy.up - counters.bytesIn.headers : 0);
    assert.equal(counters.openConnections, 0);
    assert.equal(counters.activeRequests, 0);
  });
}

// Streams read with a plain fetch: every one that streams over HTTP.
for (const { id } of withCapabilities({ streams: true, upgrades: false })) {
  test(`${id}: an open stream is counted while it lasts, and per client when it names one`, async (t) => {
    const server = await startServer(t);
    const proxy = await countingProxy(t, Number(new URL(server.url).port));
    const response = await fetch(`${proxy.url}/api/${id}?since=0&client=page-1`);
    const reader = response.body?.getReader();
    assert.ok(reader);
    await publish(server.url, { author: 'ada', text: 'hello' });
    let text = '';
    while (!text.includes('hello')) text += new TextDecoder().decode((await reader.read()).value);

    const live = (await stats(server.url))[id];
    assert.ok(live);
    assert.equal(live.openConnections, 1);
    assert.equal(live.activeRequests, 1);
    assert.equal(live.bytesOut.headers + live.bytesOut.body, proxy.down, 'counted before the stream ends');
    assert.equal(live.bytesIn.headers, proxy.up);

    const mine = (await (await fetch(`${server.url}/api/stats?client=page-1`)).json()) as {
      techniques: Record<string, WireCounters>;
    };
    assert.equal(mine.techniques[id]?.httpRequests, 1);
    assert.equal(mine.techniques[id]?.messagesDelivered, 1);
    assert.equal((mine.techniques[id]?.bytesOut.headers ?? 0) + (mine.techniques[id]?.bytesOut.body ?? 0), proxy.down);
    const other = (await (await fetch(`${server.url}/api/stats?client=page-2`)).json()) as {
      techniques: Record<string, WireCounters>;
    };
    assert.equal(other.techniques[id]?.httpRequests, 0);
    await reader.cancel();
  });
}

test(`a malformed client id is refused with 400 by /api/stats and by ${techniques.map(({ id }) => id).join(', ')}`, async (t) => {
  const server = await startServer(t);
  const malformed = ['a%20b', 'x'.repeat(65), '%3Cscript%3E'];
  const paths = ['/api/stats', ...techniques.map(({ id }) => `/api/${id}`)].map(
    (path, i) => `${path}?client=${malformed[i % malformed.length]}`,
  );
  for (const path of paths) {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 400, path);
    assert.match(((await response.json()) as { message: string }).message, /client must be/);
  }
});

// Two techniques whose every request gets one answer that ends, so that one connection
// can carry a request to each.
const [first, second] = withCapabilities({ streams: false, upgrades: false });

test(`one keep-alive connection used by ${first?.id} and ${second?.id} splits its bytes between them`, async (t) => {
  assert.ok(first && second, 'two registered techniques answer each request and end it');
  const server = await startServer(t);
  const proxy = await countingProxy(t, Number(new URL(server.url).port));
  await publish(server.url, { author: 'ada', text: 'hello' });
  const port = Number(new URL(proxy.url).port);
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  const ask = async (path: string, answers: number) => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await until(() => (received.match(/\r\n\r\n\{/g)?.length ?? 0) >= answers, `${answers} answers`);
  };
  await ask(`/api/${first.id}?since=0`, 1);
  const afterFirst = proxy.down;
  await ask(`/api/${second.id}?since=0`, 2);
  socket.destroy();
  await until(() => proxy.open === 0, 'close');
  const all = await stats(server.url);
  const one = all[first.id];
  const two = all[second.id];
  assert.ok(one && two);
  assert.equal(one.bytesOut.headers + one.bytesOut.body, afterFirst);
  assert.equal(two.bytesOut.headers + two.bytesOut.body, proxy.down - afterFirst);
  assert.equal(one.httpRequests, 1);
  assert.equal(two.httpRequests, 1);
});
