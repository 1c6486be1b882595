/**
 * Several server nodes on one Redis: what the Redis feed promises beyond the single-node
 * conformance suite. Every node is a real server on its own port; every client is the
 * technique's real client; Redis is a private redis-server, stopped and started for real.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from '../test/suite.ts';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Config } from './config.ts';
import type { Message } from './message.ts';
import { RedisFeed, feedKeys } from './redis-feed.ts';
import { freePort } from '../bench/redis-process.ts';
import { type TestServer, publish, startServer, until, usePrivateRedis } from '../test/support.ts';
import { NGINX, REDIS, needs } from '../test/tools.ts';
import { type FeedClient, clientFor } from '../test/clients/index.ts';
import { readPoll } from '../test/clients/poll.ts';
import { techniqueIds, techniques } from './contract/techniques.js';

const redis = usePrivateRedis();

let feeds = 0;
/** Keys for a new, empty feed on the private Redis. */
const newFeed = () => `nodes-${++feeds}`;

/** `count` nodes sharing the feed under `prefix` (a new one by default). */
async function startNodes(t: TestContext, count: number, prefix = newFeed()): Promise<TestServer[]> {
  const shared: Partial<Config> = { feed: redis().url as Config['feed'], redisKeyPrefix: prefix };
  const nodes = [];
  for (let i = 0; i < count; i += 1) nodes.push(await startServer(t, { config: shared }));
  return nodes;
}

/** One client of every technique on `node`, from `since`. */
async function openAll(t: TestContext, node: TestServer, since?: number): Promise<FeedClient[]> {
  const opened = [];
  for (const technique of techniques) {
    const client = await clientFor(technique)(node.url, since === undefined ? {} : { since });
    t.after(() => client.close());
    opened.push(client);
  }
  return opened;
}

const texts = (messages: Message[]) => messages.map((m) => `${m.id}:${m.text}`);

/** The techniques a test covers, for its name: a new one shows up in the test list. */
const EVERY_TECHNIQUE = techniqueIds.join(', ');

describe('two nodes on one Redis', needs(REDIS), () => {
  test(`a message published on one node reaches every technique (${EVERY_TECHNIQUE}) on the other, in the same order`, async (t) => {
    const [a, b] = await startNodes(t, 2);
    assert.ok(a && b);
    const onA = await openAll(t, a, 0);
    const onB = await openAll(t, b, 0);
    // Both nodes publish at once: the ids still form one sequence that every client sees alike.
    const published = (
      await Promise.all([
        Promise.all(Array.from({ length: 10 }, (_, i) => publish(a.url, { author: 'ada', text: `a${i}` }))),
        Promise.all(Array.from({ length: 10 }, (_, i) => publish(b.url, { author: 'bob', text: `b${i}` }))),
      ])
    )
      .flat()
      .sort((x, y) => x.id - y.id);
    assert.deepEqual(
      published.map((m) => m.id),
      Array.from({ length: 20 }, (_, i) => i + 1),
      'ids are 1..20 with none taken twice',
    );
    for (const client of [...onA, ...onB]) {
      await client.received(20);
      assert.deepEqual(texts(client.messages), texts(published), `${client.technique}`);
      assert.deepEqual(client.events, [], `${client.technique}`);
    }
  });

  test(`a client that moves from node A to node B with its cursor resumes without loss (${EVERY_TECHNIQUE})`, async (t) => {
    const [a, b] = await startNodes(t, 2);
    assert.ok(a && b);
    for (const technique of techniques) {
      const open = clientFor(technique);
      const start = (await publish(a.url, { author: 'ada', text: `${technique.id} before` })).id - 1;
      const first = await open(a.url, { since: start });
      await first.received(1);
      await first.close();
      const cursor = first.messages.at(-1)?.id;
      assert.ok(cursor !== undefined);
      // Published on A while the client is away; it comes back through B.
      const missed: Message[] = [
        await publish(a.url, { author: 'ada', text: `${technique.id} missed 1` }),
        await publish(a.url, { author: 'ada', text: `${technique.id} missed 2` }),
      ];
      const second = await open(b.url, { since: cursor });
      t.after(() => second.close());
      const live = await publish(a.url, { author: 'ada', text: `${technique.id} live` });
      await second.received(3);
      assert.deepEqual(texts(second.messages), texts([...missed, live]), technique.id);
      assert.deepEqual(second.events, [], technique.id);
    }
  });

  test('a node asked for a cursor it has not read yet asks Redis instead of answering reset', async (t) => {
    const options = { url: redis().url, historySize: 100, keyPrefix: newFeed() };
    const a = await RedisFeed.open(options);
    const b = await RedisFeed.open(options);
    const admin = new Redis(redis().url);
    t.after(() => Promise.all([a.close(), b.close(), admin.quit()]));
    for (let i = 0; i < 5; i += 1) {
      // Make B lag for real: cut its reader's connection (the newest reader is B's), so
      // it reads nothing until it has reconnected, tens of milliseconds from now.
      const readers = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal'))
        .split('\n')
        .filter((line) => line.includes('name=realtime-lab-reader'))
        .map((line) => Number(/\bid=(\d+)/.exec(line)?.[1]));
      await admin.call('CLIENT', 'KILL', 'ID', String(Math.max(...readers)));
      const message = await a.publish({ author: 'ada', text: `m${i}` });
      assert.ok(b.lastId < message.id, 'B has not read the message');
      // A client that saw this message on A asks B for what follows: nothing yet, and
      // above all no reset, which would replay the whole history to it.
      assert.deepEqual(await b.since(message.id), { epoch: b.epoch, cursor: message.id, messages: [] });
      assert.deepEqual(await b.since(message.id, a.epoch), { epoch: b.epoch, cursor: message.id, messages: [] });
      await until(() => b.lastId === message.id, 'B to catch up by itself');
      assert.deepEqual(texts((await b.since(message.id - 1)).messages), texts([message]));
    }
  });
});

describe('Redis going away', needs(REDIS), () => {
  test('nodes keep serving, report unhealthy, refuse publishes with 503, and recover with nothing lost', async (t) => {
    const [a, b] = await startNodes(t, 2);
    assert.ok(a && b);
    const everyone = [...(await openAll(t, a, 0)), ...(await openAll(t, b, 0))];
    const before = [];
    for (let i = 0; i < 3; i += 1)
      before.push(await publish(i % 2 ? a.url : b.url, { author: 'ada', text: `before ${i}` }));
    for (const client of everyone) await client.received(3);

    await redis().stop();
    for (const node of [a, b]) {
      await until(() => !node.feed.health().ok, 'the node to notice');
      const health = await fetch(`${node.url}/api/health`);
      assert.equal(health.status, 503);
      const body = (await health.json()) as Record<string, unknown>;
      assert.equal(body.status, 'unhealthy');
      assert.match(String(body.reason), /unreachable/);
      assert.equal(typeof body.now, 'number', 'the clock is still there for the pages');

      const refused = await fetch(`${node.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'ada', text: 'during' }),
      });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(((await refused.json()) as { message: string }).message, /cannot take messages now/);

      // What the node has is still served, from its mirror.
      const poll = await fetch(`${node.url}/api/short-polling?since=0`);
      assert.equal(poll.status, 200);
      assert.deepEqual(texts(((await poll.json()) as { messages: Message[] }).messages), texts(before));
    }
    // Over WebSocket, the refusal is an error frame and the socket stays open.
    const socket = new WebSocket(`${a.url.replace(/^http/, 'ws')}/api/websocket`);
    t.after(() => socket.terminate());
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const answer = new Promise<Record<string, unknown>>((resolve) =>
      socket.once('message', (data) => resolve(JSON.parse(data.toString()))),
    );
    socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'during', ref: 'r1' }));
    const frame = await answer;
    assert.deepEqual(Object.keys(frame).sort(), ['code', 'message', 'ref', 'type']);
    assert.equal(frame.code, 'RTL_FEED_UNAVAILABLE', 'refused before it was sent: not stored');
    assert.equal(socket.readyState, WebSocket.OPEN);

    await redis().start();
    for (const node of [a, b]) {
      await until(() => node.feed.health().ok, 'the node to reconnect by itself', 10_000);
      assert.equal((await fetch(`${node.url}/api/health`)).status, 200);
    }
    const afterwards = [];
    for (let i = 0; i < 3; i += 1)
      afterwards.push(await publish(i % 2 ? b.url : a.url, { author: 'ada', text: `after ${i}` }));
    const accepted = [...before, ...afterwards];
    for (const client of everyone) {
      await client.received(accepted.length, 10_000);
      assert.deepEqual(texts(client.messages), texts(accepted), client.technique);
    }
    assert.deepEqual(
      accepted.map((m) => m.id),
      [1, 2, 3, 4, 5, 6],
      'Redis kept its counter: no id reused',
    );
  });

  test('a node started while Redis is away serves unhealthy, then catches up when it comes', async (t) => {
    const prefix = newFeed();
    const [a] = await startNodes(t, 1, prefix);
    assert.ok(a);
    const first = await publish(a.url, { author: 'ada', text: 'first' });
    await redis().stop();
    const started = Date.now();
    const [late] = await startNodes(t, 1, prefix);
    assert.ok(late);
    assert.ok(Date.now() - started < 10_000, 'the start does not wait for Redis forever');
    assert.equal((await fetch(`${late.url}/api/health`)).status, 503);
    // It knows no feed yet: a client of a's feed is told nothing new, and above all not reset.
    const earlyUrl = `${late.url}/api/short-polling?since=1&epoch=${a.feed.epoch}`;
    const early = await readPoll(earlyUrl, await fetch(earlyUrl));
    assert.deepEqual(early, { epoch: a.feed.epoch, cursor: 1, messages: [] });
    await redis().start();
    await until(
      () => late.feed.health().ok && late.feed.lastId === first.id,
      'the late node to load the history',
      10_000,
    );
    const poll = (await (await fetch(`${late.url}/api/long-polling?since=0`)).json()) as { messages: Message[] };
    assert.deepEqual(texts(poll.messages), texts([first]));
    assert.equal(late.feed.epoch, a.feed.epoch, 'the late node follows the same feed');
  });

  /** One node on a feed of its own holding three messages, and an admin connection to Redis. */
  async function nodeOfThree(t: TestContext) {
    const prefix = newFeed();
    const [a] = await startNodes(t, 1, prefix);
    assert.ok(a);
    for (let i = 1; i <= 3; i += 1) await publish(a.url, { author: 'ada', text: `old ${i}` });
    const admin = new Redis(redis().url);
    t.after(() => admin.quit());
    return { a, admin, prefix, old: a.feed.epoch };
  }

  test('when Redis has lost the feed, nodes start over and clients ahead of it get a reset', async (t) => {
    const { a, admin, prefix, old } = await nodeOfThree(t);
    // What a Redis restarted without its files looks like: the feed's keys are gone.
    await admin.del(...Object.values(feedKeys(prefix)));
    await until(() => a.feed.lastId === 0 && a.feed.epoch !== old, 'the node to notice the feed is gone', 5000);
    const fresh = await publish(a.url, { author: 'ada', text: 'new 1' });
    assert.equal(fresh.id, 1);
    const answer = (await (await fetch(`${a.url}/api/short-polling?since=3`)).json()) as {
      epoch: string;
      reset?: boolean;
      messages: Message[];
    };
    assert.equal(answer.reset, true);
    assert.equal(answer.epoch, a.feed.epoch);
    assert.deepEqual(texts(answer.messages), texts([fresh]));
  });

  test(`when Redis has lost the feed and the new one has counted past a client's cursor, every technique (${EVERY_TECHNIQUE}) still gets a reset`, async (t) => {
    const prefix = newFeed();
    const [a, b] = await startNodes(t, 2, prefix);
    assert.ok(a && b);
    for (let i = 1; i <= 30; i += 1) await publish(a.url, { author: 'ada', text: `old ${i}` });
    const before = await openAll(t, a, 0);
    for (const client of before) await client.received(30);
    await Promise.all(before.map((client) => client.close()));
    const old = a.feed.epoch;
    for (const client of before) assert.deepEqual(client.position, { epoch: old, cursor: 30 }, client.technique);

    // Redis loses the feed, and node B takes 50 publishes of the new one at once, before
    // node A has had a quiet second to check: A's reader, which had read up to entry 30,
    // sees 31..50 come in as if they followed. Only the epoch they carry tells them apart.
    const admin = new Redis(redis().url);
    t.after(() => admin.quit());
    await admin.del(...Object.values(feedKeys(prefix)));
    const fresh: Message[] = [];
    for (let i = 1; i <= 50; i += 1) fresh.push(await publish(b.url, { author: 'bob', text: `new ${i}` }));
    assert.deepEqual(
      fresh.map((m) => m.id),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );

    for (const technique of techniques) {
      const back = await clientFor(technique)(a.url, { since: 30, epoch: old });
      t.after(() => back.close());
      await back.received(50);
      assert.deepEqual(texts(back.messages), texts(fresh), technique.id);
      assert.equal(back.events.length, 1, technique.id);
      assert.equal(back.events[0]?.type, 'reset', technique.id);
      assert.notEqual(back.position.epoch, old, technique.id);
    }
    assert.equal(a.feed.epoch, b.feed.epoch, 'both nodes follow the new feed');
    assert.deepEqual(await a.feed.since(30, old), { ...(await b.feed.since(0)), reset: true });
  });

  test('an epoch key lost alone starts a new feed: the entries of the old one left in the stream are not served as its', async (t) => {
    const { a, admin, prefix, old } = await nodeOfThree(t);
    await admin.del(feedKeys(prefix).epoch);
    const next = await publish(a.url, { author: 'ada', text: 'first of the new epoch' });
    assert.equal(next.id, 4, 'the counter went on');
    await until(() => a.feed.epoch !== old, 'the node to follow the new epoch');
    assert.equal(await admin.get(feedKeys(prefix).epoch), a.feed.epoch);
    // Of the new feed, id 4 is all there is: 1..3 are another feed's, counted as missed.
    for (const [cursor, epoch] of [
      [0, a.feed.epoch],
      [3, old],
    ] as const) {
      const url = `${a.url}/api/short-polling?since=${cursor}&epoch=${epoch}`;
      const answer = await readPoll(url, await fetch(url));
      assert.equal(answer.epoch, a.feed.epoch);
      assert.equal(answer.reset, epoch === old ? true : undefined);
      assert.equal(answer.missed, 3);
      assert.deepEqual(texts(answer.messages), texts([next]));
    }
  });

  test('a node that has not yet seen the new feed asks Redis rather than reset a client that has', async (t) => {
    const options = { url: redis().url, historySize: 100, keyPrefix: newFeed() };
    const a = await RedisFeed.open(options);
    const b = await RedisFeed.open(options);
    const admin = new Redis(redis().url);
    t.after(() => Promise.all([a.close(), b.close(), admin.quit()]));
    await a.publish({ author: 'ada', text: 'old' });
    await until(() => b.lastId === 1, 'B to read it');
    const old = b.epoch;
    await admin.del(...Object.values(feedKeys(options.keyPrefix)));
    // The new feed's publishes come through a third node, C.
    const c = await RedisFeed.open(options);
    t.after(() => c.close());
    // Make B lag for real: cut its reader's connection (B's is the second reader), so it
    // reads nothing until it has reconnected, tens of milliseconds from now.
    const readers = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal'))
      .split('\n')
      .filter((line) => line.includes('name=realtime-lab-reader'))
      .map((line) => Number(/\bid=(\d+)/.exec(line)?.[1]))
      .sort((x, y) => x - y);
    await admin.call('CLIENT', 'KILL', 'ID', String(readers[1]));
    // Two messages of the new feed: A's reader, at entry 1 of the old one, reads the second.
    await c.publish({ author: 'ada', text: 'new 1' });
    const message = await c.publish({ author: 'ada', text: 'new 2' });
    await until(() => a.epoch === c.epoch && a.lastId === 2, 'A to follow the new feed');
    assert.equal(b.epoch, old, 'B has not seen the new feed');
    // A client that saw the new feed on A comes to B: B answers from Redis, no reset.
    assert.deepEqual(await b.since(message.id, c.epoch), { epoch: c.epoch, cursor: message.id, messages: [] });
    assert.deepEqual((await b.since(1, c.epoch)).messages, [message]);
    await until(() => b.epoch === c.epoch && b.lastId === message.id, 'B to follow the new feed by itself');
  });

  test('a node cut off from Redis resets no one: a cursor of another epoch waits until Redis can tell', async (t) => {
    const options = { url: redis().url, historySize: 100, keyPrefix: newFeed() };
    const b = await RedisFeed.open(options);
    t.after(() => b.close());
    await b.publish({ author: 'ada', text: 'old' });
    await until(() => b.lastId === 1, 'B to read it');
    await redis().stop();
    t.after(() => (redis().pid === undefined ? redis().start() : undefined));
    await until(() => !b.health().ok, 'B to see Redis away', 10_000);
    // The epoch of a newer feed another node serves, or of a dead one: B cannot tell which,
    // and a reset to its own epoch could send a client back to a dead feed (and, behind a
    // round-robin proxy, to and fro for as long as B is cut off). Nothing yet.
    assert.deepEqual(await b.since(5, 'zzzzzz'), { epoch: 'zzzzzz', cursor: 5, messages: [] });
    await redis().start();
    await until(() => b.health().ok, 'B to see Redis back', 10_000);
    // Redis holds no feed zzzzzz: now the reset comes, with B's feed from the start.
    const batch = await b.since(5, 'zzzzzz');
    assert.equal(batch.reset, true);
    assert.equal(batch.epoch, b.epoch);
    assert.deepEqual(
      batch.messages.map((m) => m.text),
      ['old'],
    );
  });

  /** A node on a feed of its own holding five messages, and an admin connection to Redis. */
  async function feedOfFive(t: TestContext) {
    const options = { url: redis().url, historySize: 100, keyPrefix: newFeed() };
    const a = await RedisFeed.open(options);
    const admin = new Redis(redis().url);
    t.after(() => Promise.all([a.close(), admin.quit()]));
    for (let i = 1; i <= 5; i += 1) await a.publish({ author: 'ada', text: `old ${i}` });
    return { a, admin, keys: feedKeys(options.keyPrefix), old: a.epoch };
  }

  test('a Redis that loses the counter and the stream but keeps the epoch key gets a new epoch: an old cursor is reset, not continued', async (t) => {
    const { a, admin, keys, old } = await feedOfFive(t);
    // What an eviction of single keys, or a failover to a replica behind on writes, can leave.
    await admin.del(keys.counter, keys.stream);
    await until(() => a.epoch !== old, 'A to renew the epoch', 10_000);
    assert.equal(await admin.get(keys.epoch), a.epoch);
    for (let i = 1; i <= 5; i += 1) await a.publish({ author: 'ada', text: `new ${i}` });
    // Before: (old, 3) got "new 4", "new 5" as the sequel of "old 3", and no word of new 1..3.
    const batch = await a.since(3, old);
    assert.equal(batch.reset, true);
    assert.equal(batch.epoch, a.epoch);
    assert.deepEqual(
      batch.messages.map((m) => m.text),
      ['new 1', 'new 2', 'new 3', 'new 4', 'new 5'],
    );
  });

  test('a Redis that loses only the counter gets a new epoch and a counter past what the stream holds: publishing works again', async (t) => {
    const { a, admin, keys, old } = await feedOfFive(t);
    await admin.del(keys.counter);
    await until(() => a.epoch !== old, 'A to renew the epoch', 10_000);
    const message = await a.publish({ author: 'ada', text: 'after' });
    assert.equal(message.id, 6);
    const batch = await a.since(5, old);
    assert.equal(batch.reset, true);
    assert.deepEqual(
      batch.messages.map((m) => m.text),
      ['after'],
    );
  });
});

// The nginx configuration of docs/scale-out.md, run for real in front of two nodes: the promise that
// no technique needs sticky sessions, checked the way a reader would deploy it.

/** Starts nginx with the configuration in docs/scale-out.md, its upstreams pointed at `nodes`; resolves with its URL. */
async function startNginx(t: TestContext, nodes: TestServer[]): Promise<string> {
  const page = await readFile(fileURLToPath(new URL('../docs/scale-out.md', import.meta.url)), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(block, 'docs/scale-out.md has an nginx block');
  const servers = [...block.matchAll(/^\s*server (127\.0\.0\.1:\d+);/gm)];
  assert.equal(servers.length, nodes.length, 'one upstream server per node');
  const port = await freePort();
  let config = block.replace(/listen \d+;/, `listen 127.0.0.1:${port};`);
  for (const [i, match] of servers.entries()) {
    config = config.replace(`server ${match[1]};`, `server ${new URL((nodes[i] as TestServer).url).host};`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-nginx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `${name}_temp_path ${dir}/${name};`)
    .join(' ');
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;\nevents { worker_connections 256; }\nhttp { access_log off; ${paths}\n${config}\n}\n`,
  );
  const nginx = spawn(NGINX.path, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.after(async () => {
    if (nginx.exitCode !== null) return;
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  let reachable = false;
  const deadline = Date.now() + 5000;
  while (!reachable && Date.now() < deadline && nginx.exitCode === null) {
    reachable = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (!reachable) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(reachable, `nginx did not start: ${stderr}`);
  return url;
}

describe('behind nginx, as docs/scale-out.md configures it', needs(REDIS, NGINX), () => {
  test(`clients (${EVERY_TECHNIQUE}) spread over two nodes with no stickiness get everything once, in order, even when a node goes away`, async (t) => {
    const [a, b] = await startNodes(t, 2);
    assert.ok(a && b);
    const url = await startNginx(t, [a, b]);
    const opened: FeedClient[] = [];
    for (const technique of techniques) {
      for (let i = 0; i < 2; i += 1) {
        const client = await clientFor(technique)(url, { since: 0 });
        t.after(() => client.close());
        opened.push(client);
      }
    }
    const sent: Message[] = [];
    for (let i = 0; i < 10; i += 1) sent.push(await publish(url, { author: 'ada', text: `m${i}` }));
    for (const client of opened) {
      await client.received(10);
      assert.deepEqual(texts(client.messages), texts(sent), client.technique);
    }
    // Round robin, no stickiness: both nodes served subscribers and publishes.
    for (const node of [a, b])
      assert.ok(node.feed.lastId === 10 && Object.values(node.wire.snapshot()).some((s) => s.httpRequests > 0));

    // Node A goes away. Pollers and EventSource (which reconnects by itself with its
    // Last-Event-ID) come back through nginx to node B, with their cursors.
    await a.app.close();
    const after = [];
    for (let i = 0; i < 5; i += 1) after.push(await publish(url, { author: 'ada', text: `after ${i}` }));
    for (const client of opened.filter((c) => c.reconnects)) {
      await client.received(15, 15_000);
      assert.deepEqual(texts(client.messages), texts([...sent, ...after]), client.technique);
    }
  });
});

describe('behind nginx, the Host check sees the name the browser used', needs(REDIS, NGINX), () => {
  /** The status of a GET through nginx naming `host`. */
  const statusThrough = (url: string, host: string) =>
    new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${url}/api/health`, { headers: { host } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject).end();
    });

  test("a page's own WebSocket opens through the proxy's port, and a rebinding name is refused", async (t) => {
    const [a, b] = await startNodes(t, 2);
    assert.ok(a && b);
    const url = await startNginx(t, [a, b]);
    const { host } = new URL(url);
    // The page at nginx's address: its Origin has nginx's port, so nginx must forward
    // the Host with it, or the page is a stranger to its own server.
    for (let i = 0; i < 2; i += 1) {
      const socket = new WebSocket(`${url.replace('http', 'ws')}/api/websocket`, { origin: url });
      t.after(() => socket.terminate());
      await once(socket, 'open');
    }
    assert.equal(await statusThrough(url, host), 200);
    assert.equal(await statusThrough(url, `localhost:${new URL(url).port}`), 200);
    assert.equal(await statusThrough(url, `evil.example:${new URL(url).port}`), 421);
  });
});
