/**
 * The two paths of FeedClient's follow (transport.ts) and the handoff between them: a client that
 * keeps up is written each publish from the feed's notification (live), one that is behind
 * pulls from the history; whichever path a message takes, every client gets it exactly
 * once, in order, and a client that stops reading never holds up the others.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { test } from '../test/suite.ts';
import { type TestServer, startServer, until } from '../test/support.ts';
import { clientFor } from '../test/clients/index.ts';
import { type Technique, withCapabilities } from './contract/techniques.js';

const streaming = withCapabilities({ streams: true });
/** Big enough that no technique's document or stream ends on its byte limit mid-test. */
const NO_BYTE_LIMIT = 1024 * 1024 * 1024;

/** Resolves on the next turn of the event loop, so that clients' reads and joins interleave with publishes. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** The ids of the messages in what a raw connection read, whatever the wire format (each carries its JSON). */
function idsIn(raw: string): number[] {
  return [...raw.matchAll(/"id":(\d+),"ts":/g)].map((match) => Number(match[1]));
}

/** The request that opens `technique` on a raw connection from `since`: a plain GET, or an upgrade. */
function openingRequest({ id, capabilities }: Technique, since: number): string {
  const start = `GET /api/${id}?since=${since} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  if (!capabilities.upgrades) return `${start}\r\n`;
  return `${start}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/** A raw connection to `technique` that keeps every byte it reads; paused until told. */
async function rawClient(server: TestServer, technique: Technique, since: number) {
  const socket = net.connect({ port: Number(new URL(server.url).port), host: '127.0.0.1' });
  socket.setEncoding('latin1');
  await once(socket, 'connect');
  let read = '';
  socket.on('data', (chunk: string) => (read += chunk));
  socket.write(openingRequest(technique, since));
  return { socket, read: () => read };
}

/** Asserts that `ids` are exactly `from`, `from + 1`, … `to`: nothing missing, nothing twice, in order. */
function assertRun(ids: number[], from: number, to: number, who: string): void {
  const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const wrong = ids.findIndex((id, i) => id !== expected[i]);
  assert.ok(
    wrong === -1 && ids.length === expected.length,
    `${who}: expected ${from}..${to}, got ${ids.length} ids, first wrong at ${wrong}: ${ids.slice(Math.max(0, wrong - 2), wrong + 3)}`,
  );
}

for (const technique of streaming) {
  test(`${technique.id}: clients that join while messages are published get each one once, in order`, async (t) => {
    const server = await startServer(t, { config: { iframeMaxBytes: NO_BYTE_LIMIT, maxConnectionsPerAddress: 64 } });
    const open = clientFor(technique);
    const PUBLISHED = 300;
    const clients: { client: Awaited<ReturnType<typeof open>>; from: number }[] = [];
    const joining: Promise<void>[] = [];
    for (let i = 1; i <= PUBLISHED; i += 1) {
      await server.feed.publish({ author: 'ada', text: `message ${i}` });
      // Every 20 messages two clients join: one replaying from the start, one live only.
      // Their reads, and the moment each goes live, fall among the publishes that follow.
      if (i % 20 === 0) {
        joining.push(
          open(server.url, { since: 0, epoch: server.feed.epoch }).then(
            (client) => void clients.push({ client, from: 1 }),
          ),
          open(server.url, {}).then((client) => void clients.push({ client, from: 0 })),
        );
      }
      await turn();
    }
    await Promise.all(joining);
    t.after(() => Promise.all(clients.map(({ client }) => client.close())));
    for (const { client, from } of clients) {
      const first = from || (client.messages[0]?.id ?? PUBLISHED + 1);
      await client.received(PUBLISHED - first + 1);
      // A little longer: anything sent twice would arrive now.
      await turn();
      assertRun(
        client.messages.map((message) => message.id),
        first,
        PUBLISHED,
        from ? 'replaying client' : 'live client',
      );
    }
  });

  test(`${technique.id}: a client that falls behind and catches up gets each message once, in order`, async (t) => {
    // Enough history that the client stays within it while it does not read.
    const server = await startServer(t, { config: { iframeMaxBytes: NO_BYTE_LIMIT, historySize: 5000 } });
    const behind = await rawClient(server, technique, 0);
    t.after(() => behind.socket.destroy());
    await until(() => server.feed.listenerCount === 1, 'the subscription');
    // 12 MB while it reads nothing: more than the kernel's socket buffers on loopback take,
    // so its server-side buffer fills and it leaves the live path.
    behind.socket.pause();
    const TEXT = 'x'.repeat(4000);
    for (let i = 0; i < 3000; i += 1) {
      await server.feed.publish({ author: 'ada', text: TEXT });
      if (i % 100 === 0) await turn();
    }
    behind.socket.resume();
    await until(() => idsIn(behind.read()).at(-1) === 3000, 'the client to catch up', 10_000);
    // Caught up: the next messages reach it live.
    for (let i = 0; i < 20; i += 1) await server.feed.publish({ author: 'ada', text: `after ${i}` });
    await until(() => idsIn(behind.read()).at(-1) === 3020, 'the messages after catching up');
    assertRun(idsIn(behind.read()), 1, 3020, 'the client that fell behind');
  });

  test(`${technique.id}: a client that stops reading is dropped at the bound without holding up the live ones`, async (t) => {
    const SLOW_CLIENT_TIMEOUT_MS = 1500;
    const server = await startServer(t, {
      config: { slowClientTimeoutMs: SLOW_CLIENT_TIMEOUT_MS, iframeMaxBytes: NO_BYTE_LIMIT },
    });
    const live = await clientFor(technique)(server.url, {});
    t.after(() => live.close());
    const stalled = await rawClient(server, technique, 0);
    t.after(() => stalled.socket.destroy());
    stalled.socket.pause();
    await until(() => server.feed.listenerCount === 2, 'both subscriptions');
    const TEXT = 'y'.repeat(4000);
    let checkedWhileStalledHeld = 0;
    const started = Date.now();
    // Until the stalled one's kernel buffers (a few MB on loopback) and then its buffer in
    // the server are full, and it has stalled for SLOW_CLIENT_TIMEOUT_MS.
    while (server.feed.listenerCount === 2 && Date.now() - started < 20_000) {
      for (let i = 0; i < 100; i += 1) await server.feed.publish({ author: 'ada', text: TEXT });
      // The live client has everything published so far, while the stalled one is still
      // held: sooner than the stalled one's bound, so it did not wait for it.
      await live.received(server.feed.lastId, SLOW_CLIENT_TIMEOUT_MS * 0.8);
      if (server.feed.listenerCount === 2) checkedWhileStalledHeld += 1;
      await turn();
    }
    await until(() => server.feed.listenerCount === 1, 'the stalled client to be dropped', 5000);
    assert.ok(checkedWhileStalledHeld > 0, 'the live client was checked while the stalled one was held');
    // And the live one goes on.
    await server.feed.publish({ author: 'ada', text: 'still here' });
    await live.received(server.feed.lastId);
    assertRun(
      live.messages.map((message) => message.id),
      1,
      server.feed.lastId,
      'the live client',
    );
  });
}
