/**
 * A streaming client that stops reading must not make the server buffer without bound:
 * the server waits with at most a small backlog, then drops the client; a client that
 * keeps reading, however slowly, is kept.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SLOW_CONSUMER_MAX_GROWTH_BYTES } from '../test/guarantees.ts';
import { type TestServer, startServer, until } from '../test/support.ts';
import { type Technique, withCapabilities } from './contract/techniques.js';

const TEXT = 'x'.repeat(4000);

/** Opens a raw connection that sends `request` and then never reads. */
async function stalledClient(server: TestServer, request: string): Promise<net.Socket> {
  const socket = net.connect({ port: Number(new URL(server.url).port), host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.write(request);
  socket.pause();
  return socket;
}

/** The request that opens `technique` on a raw connection: a plain GET, or an upgrade. */
function openingRequest({ id, capabilities }: Technique): string {
  if (!capabilities.upgrades) return `GET /api/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  return (
    `GET /api/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** The techniques with a backlog to bound: every one that streams to a client. */
const requests = withCapabilities({ streams: true }).map(
  (technique) => [technique.id, openingRequest(technique)] as const,
);

for (const [technique, request] of requests) {
  test(`${technique}: a client that stops reading is dropped, and its listener goes`, async (t) => {
    const server = await startServer(t, { config: { slowClientTimeoutMs: 300, iframeMaxBytes: 1024 * 1024 * 1024 } });
    const socket = await stalledClient(server, request);
    t.after(() => socket.destroy());
    await until(() => server.feed.listenerCount === 1, 'the subscription');
    const rssBefore = process.memoryUsage().rss;
    // 40 MB published at a client that reads nothing.
    for (let i = 0; i < 10_000 && server.feed.listenerCount > 0; i += 1) {
      await server.feed.publish({ author: 'ada', text: TEXT });
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => server.feed.listenerCount === 0, 'the stalled client to be dropped', 10_000);
    const grown = process.memoryUsage().rss - rssBefore;
    console.log(
      `${technique}: dropped after ${server.feed.lastId} messages; RSS grew ${(grown / 1048576).toFixed(1)} MiB`,
    );
    // The history holds 1,000 messages of 4 KB (4 MB): the client's backlog adds little.
    assert.ok(grown < SLOW_CONSUMER_MAX_GROWTH_BYTES, `RSS grew ${grown} bytes`);
    // The connection itself goes too (a WebSocket gets a second to take its close frame).
    let active = -1;
    const deadline = Date.now() + 5000;
    while (active !== 0 && Date.now() < deadline) {
      const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as {
        techniques: Record<string, { activeRequests: number }>;
      };
      active = stats.techniques[technique]?.activeRequests ?? -1;
      if (active !== 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(active, 0);
  });
}

for (const [technique, request] of requests) {
  test(`${technique}: a client that reads in short bursts, paused most of the time, is kept`, async (t) => {
    const SLOW_CLIENT_TIMEOUT_MS = 400;
    const server = await startServer(t, {
      config: { slowClientTimeoutMs: SLOW_CLIENT_TIMEOUT_MS, iframeMaxBytes: 1024 * 1024 * 1024 },
    });
    const socket = await stalledClient(server, request);
    t.after(() => socket.destroy());
    let read = 0;
    socket.on('data', (chunk: Buffer) => (read += chunk.length));
    // Reads for 5 ms out of every 100: far slower than the feed, but never stalled for
    // as long as the slow-client timeout.
    const reader = setInterval(() => {
      socket.resume();
      setTimeout(() => socket.pause(), 5);
    }, 100);
    t.after(() => clearInterval(reader));
    await until(() => server.feed.listenerCount === 1, 'the subscription');
    const until_ = Date.now() + 3 * SLOW_CLIENT_TIMEOUT_MS + 1000;
    while (Date.now() < until_) {
      await server.feed.publish({ author: 'ada', text: TEXT });
      if (server.feed.lastId % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(server.feed.listenerCount, 1, `the reading client was dropped after ${server.feed.lastId} messages`);
    }
    console.log(
      `${technique}: kept through ${server.feed.lastId} messages, having read ${(read / 1048576).toFixed(1)} MiB`,
    );
    assert.ok(read > 64 * 1024, 'it kept reading');
    assert.equal(server.wire.activeRequests(technique), 1);
  });
}
