/**
 * A Redis that is alive but does not answer: the private redis-server stopped with SIGSTOP
 * (its TCP connections stay up, so nothing looks closed) and resumed with SIGCONT. Real
 * nodes, the real clients of every technique, and the numbers of docs/guarantees.md: health turns 503
 * within 3 s and comes back within 5 s of Redis answering again, and no publish answered
 * 503 is ever delivered unless its answer said it might be (RTL_PUBLISH_UNCONFIRMED).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from '../test/suite.ts';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { FaultProxy } from '../bench/fault-proxy.ts';
import type { Config } from './config.ts';
import type { Message } from './message.ts';
import { PUBLISH_SCRIPT, RedisFeed, feedKeys } from './redis-feed.ts';
import { FAST_REFUSAL_MAX_MS, REDIS_HEALTHY_AGAIN_WITHIN_MS, REDIS_UNHEALTHY_WITHIN_MS } from '../test/guarantees.ts';
import { type TestServer, startServer, until, usePrivateRedis } from '../test/support.ts';
import { REDIS, needs } from '../test/tools.ts';
import { type FeedClient, clientFor } from '../test/clients/index.ts';
import { techniqueIds, techniques, withCapabilities } from './contract/techniques.js';
import { websocketFrames } from './contract/formats/websocket.js';

const redis = usePrivateRedis();

let feeds = 0;
const newFeed = () => `freeze-${++feeds}`;

/** Generous time for a SIGSTOP to take hold of Redis after kill() returns, ms. */
const SIGSTOP_TAKES_HOLD_MS = 50;

/**
 * Stops the private Redis with SIGSTOP; returns the SIGCONT. The test thaws it at the end
 * whatever happens, so nothing is left frozen (a frozen Redis would also hang its disposal).
 */
function freeze(t: TestContext): () => void {
  const pid = redis().pid;
  assert.ok(pid, 'the private Redis runs');
  let frozen = true;
  const thaw = () => {
    if (!frozen) return;
    frozen = false;
    process.kill(pid, 'SIGCONT');
  };
  t.after(thaw);
  process.kill(pid, 'SIGSTOP');
  return thaw;
}

async function startNodes(t: TestContext, count: number, config: Partial<Config> = {}): Promise<TestServer[]> {
  const shared: Partial<Config> = { feed: redis().url as Config['feed'], redisKeyPrefix: newFeed(), ...config };
  const nodes = [];
  for (let i = 0; i < count; i += 1) nodes.push(await startServer(t, { config: shared }));
  return nodes;
}

async function healthStatus(node: TestServer): Promise<number> {
  const response = await fetch(`${node.url}/api/health`);
  await response.arrayBuffer();
  return response.status;
}

/** Resolves with the ms from `since` until `node`'s health answers `status`; rejects after `withinMs` (plus slack to report the miss). */
async function healthTurns(node: TestServer, status: number, since: number, withinMs: number): Promise<number> {
  while ((await healthStatus(node)) !== status) {
    if (Date.now() - since > withinMs + 2000)
      throw new Error(`health still not ${status} after ${Date.now() - since} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - since;
}

interface Attempt {
  text: string;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  /** When the answer came, ms after the freeze began (negative: before it). */
  answeredAt: number;
  tookMs: number;
}

const texts = (messages: Message[]) => messages.map((m) => `${m.id}:${m.text}`);

describe('a frozen Redis (SIGSTOP)', needs(REDIS), () => {
  test('health turns 503 within 3 s, stays so, comes back within 5 s of SIGCONT; the outage is logged once and the recovery once', async (t) => {
    const nodes = await startNodes(t, 2);
    const lines: string[] = [];
    const feed = await RedisFeed.open({
      url: redis().url,
      historySize: 10,
      keyPrefix: newFeed(),
      log: (line) => lines.push(line),
    });
    t.after(() => feed.close());
    for (const node of nodes) assert.equal(await healthStatus(node), 200);
    assert.deepEqual(feed.health(), { ok: true });

    const thaw = freeze(t);
    const frozenAt = Date.now();
    for (const node of nodes) {
      const took = await healthTurns(node, 503, frozenAt, REDIS_UNHEALTHY_WITHIN_MS);
      t.diagnostic(`unhealthy ${took} ms after SIGSTOP`);
      assert.ok(took <= REDIS_UNHEALTHY_WITHIN_MS, `health turned 503 after ${took} ms`);
      const body = (await (await fetch(`${node.url}/api/health`)).json()) as Record<string, unknown>;
      assert.equal(body.status, 'unhealthy');
      assert.match(String(body.reason), /redis:\/\/127\.0\.0\.1:\d+/);
      assert.equal(typeof body.now, 'number');
    }
    await until(
      () => !feed.health().ok,
      'the feed to report Redis away',
      REDIS_UNHEALTHY_WITHIN_MS - (Date.now() - frozenAt),
    );
    // Long enough for every connection to time out, be dropped and be tried again: still 503.
    while (Date.now() - frozenAt < 7000) {
      for (const node of nodes)
        assert.equal(await healthStatus(node), 503, `still unhealthy ${Date.now() - frozenAt} ms into the freeze`);
      assert.equal(feed.health().ok, false);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    thaw();
    const thawedAt = Date.now();
    for (const node of nodes) {
      const took = await healthTurns(node, 200, thawedAt, REDIS_HEALTHY_AGAIN_WITHIN_MS);
      t.diagnostic(`healthy again ${took} ms after SIGCONT`);
      assert.ok(took <= REDIS_HEALTHY_AGAIN_WITHIN_MS, `health 200 again after ${took} ms`);
    }
    await until(() => feed.health().ok, 'the feed to be healthy again', REDIS_HEALTHY_AGAIN_WITHIN_MS);
    // And it stays healthy: no flapping once Redis answers.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const node of nodes) assert.equal(await healthStatus(node), 200);
    for (const line of lines) t.diagnostic(line);
    assert.equal(lines.length, 2, `one line for the outage, one for the recovery: ${JSON.stringify(lines)}`);
    assert.match(lines[0] ?? '', /not answering|unreachable/);
    assert.match(lines[1] ?? '', /is back/);
  });

  test(`publishes during a freeze are refused fast; none answered 503 RTL_FEED_UNAVAILABLE is ever stored or delivered to ${techniqueIds.join(', ')}; every 201 is`, async (t) => {
    const [a, b] = await startNodes(t, 2, { publishRatePerClient: 0 });
    assert.ok(a && b);
    const subscribers: FeedClient[] = [];
    for (const node of [a, b]) {
      for (const technique of techniques) {
        const client = await clientFor(technique)(node.url, { since: 0 });
        t.after(() => client.close());
        subscribers.push(client);
      }
    }

    let frozenAt = Number.POSITIVE_INFINITY;
    let publishing = true;
    const attempts: Attempt[] = [];
    // One publisher per node, one publish at a time, as fast as the answers come.
    const publisher = async (node: TestServer, name: string) => {
      for (let i = 0; publishing; i += 1) {
        const text = `${name}-${i}`;
        const started = Date.now();
        const response = await fetch(`${node.url}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ author: 'ada', text }),
        });
        const body = (await response.json()) as { code?: string };
        const answered = Date.now();
        attempts.push({
          text,
          status: response.status,
          code: body.code,
          retryAfter: response.headers.get('retry-after'),
          answeredAt: answered - frozenAt,
          tookMs: answered - started,
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const publishers = Promise.all([publisher(a, 'a'), publisher(b, 'b')]);

    await new Promise((resolve) => setTimeout(resolve, 500));
    const thaw = freeze(t);
    frozenAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4500));
    thaw();
    const thawedAt = Date.now() - frozenAt;
    // Past the recovery (REDIS_HEALTHY_AGAIN_WITHIN_MS; about 1 s here), so the publishers get 201s again.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    publishing = false;
    await publishers;

    const acked = attempts.filter((x) => x.status === 201).map((x) => x.text);
    const refused = attempts.filter((x) => x.status === 503 && x.code === 'RTL_FEED_UNAVAILABLE');
    const unconfirmed = attempts.filter((x) => x.status === 503 && x.code === 'RTL_PUBLISH_UNCONFIRMED');
    t.diagnostic(
      `${attempts.length} publishes: ${acked.length} × 201, ${refused.length} × 503 not stored, ${unconfirmed.length} × 503 unconfirmed, ` +
        `${attempts.length - acked.length - refused.length - unconfirmed.length} other`,
    );
    assert.deepEqual(
      attempts.filter((x) => x.status !== 201 && x.status !== 503),
      [],
      'every publish is stored (201) or refused (503)',
    );

    // (d) Every acknowledged message reaches every subscriber; then a pause, so that anything
    // stored late (it would be read within a second of Redis waking) would show.
    for (const client of subscribers) {
      await until(
        () => acked.every((text) => client.messages.some((m) => m.text === text)),
        `${client.technique}: every acknowledged message`,
        10_000,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const admin = new Redis(redis().url);
    t.after(() => admin.quit());
    const { stream } = feedKeys(String(a.config.redisKeyPrefix));
    const stored = ((await admin.xrange(stream, '-', '+')) as [string, string[]][]).map(([id, fields]) => ({
      id: Number.parseInt(id, 10),
      text: fields[fields.indexOf('text') + 1] as string,
    }));

    // (c) A 503 "not stored" is never stored, never delivered.
    const refusedTexts = new Set(refused.map((x) => x.text));
    assert.deepEqual(
      stored.filter((m) => refusedTexts.has(m.text)).map((m) => m.text),
      [],
      'messages answered 503 RTL_FEED_UNAVAILABLE that Redis stored anyway',
    );
    for (const client of subscribers) {
      assert.deepEqual(
        client.messages.filter((m) => refusedTexts.has(m.text)).map((m) => m.text),
        [],
        `${client.technique}: delivered messages answered 503 RTL_FEED_UNAVAILABLE`,
      );
      // Exactly what Redis holds, once, in order: the 201s and nothing else, but for an
      // unconfirmed publish that Redis ran before its deadline (its answer said it might be).
      assert.deepEqual(
        texts(client.messages),
        texts(stored.map((m) => ({ ...m, ts: 0, author: 'ada' }))),
        client.technique,
      );
    }
    const ackedTexts = new Set(acked);
    const unconfirmedTexts = new Set(unconfirmed.map((x) => x.text));
    assert.deepEqual(
      stored.filter((m) => !ackedTexts.has(m.text) && !unconfirmedTexts.has(m.text)).map((m) => m.text),
      [],
      'stored messages whose publisher was not told 201 or "unconfirmed"',
    );
    assert.deepEqual(
      stored.map((m) => m.id),
      stored.map((_, i) => i + 1),
      'no id was taken by a publish that was not stored',
    );
    const storedTexts = new Set(stored.map((m) => m.text));
    const sentAt = (x: Attempt) => x.answeredAt - x.tookMs;
    t.diagnostic(
      `unconfirmed (sent, ms from SIGSTOP): ${unconfirmed.map((x) => `${x.text} ${sentAt(x)}${storedTexts.has(x.text) ? ' stored' : ''}`).join(', ')}`,
    );
    // Sent to a Redis already stopped, run when it woke, seconds past its deadline: never
    // stored. Only one Redis was running at the very moment of the SIGSTOP may be (kill()
    // returns before the stop takes hold; Redis stopped between running it and answering).
    const sentToFrozen = unconfirmed.filter((x) => sentAt(x) >= SIGSTOP_TAKES_HOLD_MS);
    assert.ok(sentToFrozen.length > 0, 'some publishes were sent to the stopped Redis and waited for their deadline');
    for (const attempt of unconfirmed) {
      if (storedTexts.has(attempt.text))
        assert.ok(
          sentAt(attempt) < SIGSTOP_TAKES_HOLD_MS,
          `${attempt.text}, sent ${sentAt(attempt)} ms into the freeze, was stored`,
        );
    }

    // (b) Once Redis is known not to answer, a publish is refused at once, not after a timeout.
    const known = attempts.filter((x) => x.answeredAt > REDIS_UNHEALTHY_WITHIN_MS && x.answeredAt < thawedAt);
    assert.ok(
      known.length >= 10,
      `publishes answered between ${REDIS_UNHEALTHY_WITHIN_MS} ms into the freeze and SIGCONT: ${known.length}`,
    );
    for (const attempt of known) {
      assert.equal(attempt.status, 503, attempt.text);
      assert.equal(attempt.code, 'RTL_FEED_UNAVAILABLE', attempt.text);
      assert.ok(attempt.tookMs < FAST_REFUSAL_MAX_MS, `${attempt.text} was refused after ${attempt.tookMs} ms`);
    }
    t.diagnostic(
      `refused in at most ${Math.max(...known.map((x) => x.tookMs))} ms once known; unconfirmed after ${unconfirmed.map((x) => x.tookMs).join(', ')} ms`,
    );
    for (const attempt of [...refused, ...unconfirmed]) assert.equal(attempt.retryAfter, '1', attempt.text);
    // Publishes in flight when Redis stopped, or sent before it was known, wait for their
    // deadline (1 s) and are the only unconfirmed ones: a handful per publisher.
    assert.ok(unconfirmed.length <= 6, `unconfirmed: ${unconfirmed.length}`);
  });

  // Publishers over their own connection (the rest publish with POST, tested above).
  for (const { id } of withCapabilities({ twoWay: true })) {
    test(`${id}: a publisher refused while Redis is away gets an error frame per publish, with its code, and keeps its socket`, async (t) => {
      const [node] = await startNodes(t, 1, { publishRatePerClient: 0 });
      assert.ok(node);
      const socket = new WebSocket(`${node.url.replace(/^http/, 'ws')}/api/${id}`);
      t.after(() => socket.terminate());
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      // Answers only: the socket is also a live subscriber, and gets the message it publishes.
      const frames: Record<string, unknown>[] = [];
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        if (frame.type === 'ack' || frame.type === 'error') frames.push(frame);
      });
      let closed: number | undefined;
      socket.on('close', (code) => (closed = code));

      const thaw = freeze(t);
      await healthTurns(node, 503, Date.now(), REDIS_UNHEALTHY_WITHIN_MS);
      // More than MAX_BAD_FRAMES_IN_A_ROW (10): a refusal by the feed is not the client's fault.
      for (let i = 0; i < 15; i += 1)
        socket.send(websocketFrames.publish({ author: 'ada', text: `ws ${i}`, ref: `r${i}` }));
      await until(() => frames.length === 15 || closed !== undefined, '15 answers', 5000);
      assert.equal(closed, undefined, 'the socket stays open');
      assert.deepEqual(
        frames.map((f) => [f.type, f.code, f.ref]),
        Array.from({ length: 15 }, (_, i) => ['error', 'RTL_FEED_UNAVAILABLE', `r${i}`]),
      );

      thaw();
      await healthTurns(node, 200, Date.now(), REDIS_HEALTHY_AGAIN_WITHIN_MS);
      socket.send(websocketFrames.publish({ author: 'ada', text: 'after', ref: 'after' }));
      await until(() => frames.length === 16, 'the answer after the freeze', 5000);
      assert.deepEqual([frames[15]?.type, frames[15]?.ref], ['ack', 'after']);
      assert.equal(socket.readyState, WebSocket.OPEN);
    });
  }

  test('an unconfirmed publish was stored only before its answer: replies held back 1.5 s, RTL_PUBLISH_UNCONFIRMED, the message already read, the late reply logged', async (t) => {
    // Redis runs the script at once; only its answer is late (a stalled network): the one
    // way an unconfirmed publish ends up stored, which its answer says may happen.
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: redis().port });
    t.after(() => proxy.close());
    const lines: string[] = [];
    const feed = await RedisFeed.open({
      url: `redis://127.0.0.1:${proxy.port}`,
      historySize: 10,
      keyPrefix: newFeed(),
      log: (line) => lines.push(line),
    });
    t.after(() => feed.close());
    const read: { text: string; at: number }[] = [];
    feed.subscribe({ published: (message) => read.push({ text: message.text, at: Date.now() }) });

    const admin = new Redis(redis().url);
    t.after(() => admin.quit());
    const commandsPort = String(await admin.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => / name=realtime-lab /.test(line))
      .map((line) => Number(/ addr=127\.0\.0\.1:(\d+) /.exec(line)?.[1]));
    assert.equal(commandsPort.length, 1, 'one commands connection');
    const commands = proxy.connections.find((connection) => connection.upstream.localPort === commandsPort[0]);
    assert.ok(commands, 'the commands connection goes through the proxy');

    // Hold Redis's answers on the commands connection only; the reader's connection flows.
    commands.upstream.pause();
    setTimeout(() => commands.upstream.resume(), 1500).unref();
    const outcome = await feed.publish({ author: 'ada', text: 'held' }).then(
      (message) => `201 #${message.id}`,
      (error: { code?: string }) => error.code,
    );
    const answeredAt = Date.now();
    assert.equal(outcome, 'RTL_PUBLISH_UNCONFIRMED');
    const held = read.find((message) => message.text === 'held');
    assert.ok(held, 'Redis stored it');
    assert.ok(held.at <= answeredAt, 'and it was in the feed before the publisher was answered');
    await until(
      () => lines.some((line) => /answered 503 \(unconfirmed\) had been stored as #1/.test(line)),
      'the late answer to be logged',
      5000,
    );
    await until(() => feed.health().ok, 'the feed to answer again', REDIS_HEALTHY_AGAIN_WITHIN_MS);
    assert.equal((await feed.publish({ author: 'ada', text: 'next' })).id, 2, 'and publishes go on');
  });

  test("the publish script stores nothing, and takes no id, once its deadline has passed on Redis's clock", async (t) => {
    const admin = new Redis(redis().url);
    t.after(() => admin.quit());
    const keys = feedKeys(newFeed());
    const [seconds, micros] = await admin.time();
    const redisNow = Number(seconds) * 1000 + Number(micros) / 1000;
    const run = (text: string, deadline: number) =>
      admin.eval(
        PUBLISH_SCRIPT,
        3,
        keys.counter,
        keys.stream,
        keys.epoch,
        10,
        '1',
        'ada',
        text,
        deadline.toFixed(3),
        'frz001',
      );
    assert.equal(await run('too late', redisNow - 1), 0);
    assert.equal(await admin.get(keys.counter), null, 'no id taken');
    assert.equal(await admin.xlen(keys.stream), 0, 'nothing stored');
    assert.equal(await admin.get(keys.epoch), null, 'no epoch made either');
    assert.deepEqual(await run('in time', redisNow + 60_000), [1, 'frz001']);
    assert.deepEqual(
      ((await admin.xrange(keys.stream, '-', '+')) as [string, string[]][]).map(([id]) => id),
      ['1-0'],
    );
  });
});
