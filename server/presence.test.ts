/**
 * The chat's presence: who is online, per technique, with real clients of every
 * technique; the joins and leaves announced in the feed; and how long the server takes to
 * notice a client that vanished without FIN or RST (the fault proxy's blackhole).
 */
import assert from 'node:assert/strict';
import { FaultProxy } from '../bench/fault-proxy.ts';
import { type FeedClient, clientFor } from '../test/clients/index.ts';
import { startServer, until } from '../test/support.ts';
import { test } from '../test/suite.ts';
import { SYSTEM_AUTHOR } from './contract/feed.js';
import { type Technique, techniques } from './contract/techniques.js';

const GRACE_MS = 300;

interface PresenceAnswer {
  graceMs: number;
  online: Record<string, { nick: string; open: number; lastSeen: number }[]>;
}

async function presence(url: string): Promise<PresenceAnswer> {
  const response = await fetch(`${url}/api/presence`);
  assert.equal(response.status, 200);
  return (await response.json()) as PresenceAnswer;
}

const announcements = (watcher: FeedClient) =>
  watcher.messages.filter((m) => m.author === SYSTEM_AUTHOR).map((m) => m.text);

test('every technique: a chatter is listed while connected, and its join and leave are announced to everyone', async (t) => {
  const server = await startServer(t, { presenceGraceMs: GRACE_MS });
  const [first] = techniques;
  assert.ok(first);
  const watcher = await clientFor(first)(server.url, {});
  t.after(() => watcher.close());
  for (const technique of techniques) {
    const nick = `ada-${technique.id}`;
    const chatter = await clientFor(technique)(server.url, { chatter: { client: `c-${technique.id}`, nick } });
    await until(
      () => announcements(watcher).includes(`${nick} joined (${technique.id})`),
      () => `the join of ${nick}; saw ${JSON.stringify(announcements(watcher))}`,
    );
    const listed = (await presence(server.url)).online[technique.id]?.map((c) => c.nick);
    assert.deepEqual(listed, [nick]);
    await chatter.close();
    await until(
      () => announcements(watcher).some((text) => text.startsWith(`${nick} left (${technique.id}): not seen for `)),
      () => `the leave of ${nick}; saw ${JSON.stringify(announcements(watcher))}`,
    );
    assert.deepEqual((await presence(server.url)).online[technique.id], []);
  }
  // Announced once each: a poller's every request is not a new join.
  assert.equal(announcements(watcher).length, techniques.length * 2);
});

test('a nickname is checked like an author: a control character is a 400 in the error format', async (t) => {
  const server = await startServer(t);
  const [technique] = techniques.filter((tq) => !tq.capabilities.upgrades);
  assert.ok(technique);
  const response = await fetch(`${server.url}/api/${technique.id}?client=x&nick=${encodeURIComponent('a\nb')}`);
  assert.equal(response.status, 400);
  const body = (await response.json()) as { code: string; message: string };
  assert.equal(body.code, 'RTL_BAD_PUBLISH');
  assert.match(body.message, /nick/);
});

// How the server can tell a client is gone depends on the technique, so the bound does.
const HEARTBEAT_MS = 300;
const POLL_INTERVAL_MS = 200;
/** The test client's long-poll timeout (test/clients/poll.ts). */
const HELD_POLL_TIMEOUT_MS = 1000;
const SLACK_MS = 1500;
/** How long a blackholed stream is watched for, and found still listed. */
const STREAM_WATCH_MS = 4000;

function noticeBound(technique: Technique): number | 'never' {
  const { upgrades, pollsWhenIdle, streams } = technique.capabilities;
  if (upgrades) return 2 * HEARTBEAT_MS + GRACE_MS + SLACK_MS;
  if (pollsWhenIdle) return POLL_INTERVAL_MS + GRACE_MS + SLACK_MS;
  // An HTTP stream's writes are taken by the kernel (here, by the proxy) whether or not
  // anyone reads: nothing fails for minutes.
  if (streams) return 'never';
  // A held poll is answered at its timeout, and then the client does not come back.
  return HELD_POLL_TIMEOUT_MS + GRACE_MS + SLACK_MS;
}

test('every technique: the time until a client that vanished without FIN is noticed', async (t) => {
  const server = await startServer(t, {
    presenceGraceMs: GRACE_MS,
    config: { heartbeatMs: HEARTBEAT_MS, maxConnectionsPerAddress: 0 },
  });
  const measured = await Promise.all(
    techniques.map(async (technique) => {
      const proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
      t.after(() => proxy.close());
      const nick = `gone-${technique.id}`;
      const client = await clientFor(technique)(proxy.url, {
        chatter: { client: `v-${technique.id}`, nick },
        pollIntervalMs: POLL_INTERVAL_MS,
      });
      t.after(() => client.close());
      const listed = async () => (await presence(server.url)).online[technique.id]?.some((c) => c.nick === nick);
      assert.ok(await listed(), `${nick} online`);
      const vanished = Date.now();
      for (const connection of proxy.connections) proxy.blackhole(connection);
      // New connections (a poller's next request on a fresh socket) vanish too.
      const blackholeNew = setInterval(() => {
        for (const connection of proxy.connections) proxy.blackhole(connection);
      }, 5);
      t.after(() => clearInterval(blackholeNew));
      const bound = noticeBound(technique);
      const watchMs = bound === 'never' ? STREAM_WATCH_MS : bound;
      while (Date.now() - vanished < watchMs && (await listed())) await new Promise((r) => setTimeout(r, 50));
      const took = Date.now() - vanished;
      const stillListed = await listed();
      clearInterval(blackholeNew);
      return { technique: technique.id, bound, took, stillListed };
    }),
  );
  for (const { technique, bound, took, stillListed } of measured) {
    console.log(
      `${technique}: ${stillListed ? `still listed after ${took} ms` : `noticed gone after ${took} ms`} (bound ${bound})`,
    );
    if (bound === 'never') assert.ok(stillListed, `${technique}: a blackholed stream cannot be noticed, yet was`);
    else assert.ok(!stillListed, `${technique}: still listed ${took} ms after it vanished (bound ${bound} ms)`);
  }
});
