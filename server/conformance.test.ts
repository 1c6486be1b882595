/**
 * The cross-technique conformance suite: the same promises, checked against every
 * technique with a real client of that technique.
 */
import assert from 'node:assert/strict';
import { describe, test } from '../test/suite.ts';
import { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Message } from './message.ts';
import { feedKeys } from './redis-feed.ts';
import { feedBackends, publish, startServer } from '../test/support.ts';
import { clientFor } from '../test/clients/index.ts';
import { techniques } from './contract/techniques.js';
import { SUBPROTOCOLS } from './contract/formats/websocket.js';
import type { ClientFactory } from '../test/clients/index.ts';

/** Texts that break naive framing: line breaks, quotes, script breakouts, fake SSE fields. */
const TRICKY_TEXTS = [
  'plain',
  'two\nlines',
  'carriage\rreturn',
  'crlf\r\nline',
  'quotes " and \' and `',
  'back\\slash \\n not a newline',
  '</script><script>parent.onFeedMessage({"id":999,"ts":0,"author":"x","text":"forged"})</script>',
  '<!--<script>swallow what follows',
  'emoji 🦊🚀 and é',
  'line\u2028separator and paragraph\u2029separator',
  'id: 999\ndata: {"forged":true}\n\nretry: 1',
  '\u0000 nul and \u001b escape',
  'x'.repeat(4096),
  '€'.repeat(1365), // 4095 bytes of UTF-8
];

const backends = feedBackends();

/**
 * Each technique once with its client as it is, and a technique reached by an upgrade once
 * more in every subprotocol but the default: the same promises, whatever the frames.
 */
const passes = techniquesUnderTest().flatMap((entry) => [
  { entry, name: entry.id, open: clientFor(entry), plainRequests: true },
  ...(entry.capabilities.upgrades
    ? [SUBPROTOCOLS.msgpack].map((subprotocol) => ({
        entry,
        name: `${entry.id} in ${subprotocol}`,
        open: inSubprotocol(clientFor(entry), subprotocol),
        // The refusals below are plain requests, the same in every subprotocol: checked once.
        plainRequests: false,
      }))
    : []),
]);

/**
 * Every registered technique; or, when CONFORMANCE_TECHNIQUES lists ids (comma-separated),
 * those alone: test/new-technique.test.ts compares a copied technique with its original
 * without running the whole matrix again. An unknown id is an error, not an empty run.
 */
function techniquesUnderTest(): readonly (typeof techniques)[number][] {
  const only = process.env.CONFORMANCE_TECHNIQUES?.split(',').filter(Boolean);
  if (!only) return techniques;
  const unknown = only.filter((id) => !techniques.some((entry) => entry.id === id));
  if (unknown.length > 0) throw new Error(`CONFORMANCE_TECHNIQUES names unknown techniques: ${unknown.join(', ')}`);
  return techniques.filter((entry) => only.includes(entry.id));
}

/** `open`, offering `subprotocol` alone. */
function inSubprotocol(open: ClientFactory, subprotocol: string): ClientFactory {
  return (url, options) => open(url, { ...options, subprotocols: [subprotocol] });
}

for (const backend of backends)
  for (const { entry, name, open, plainRequests } of passes) {
    const technique = entry.id;

    describe(`${name} conformance (${backend.name} feed)`, backend.needs, () => {
      test('delivers every published message once, in order, unchanged', async (t) => {
        const server = await startServer(t, { config: backend.config() });
        const client = await open(server.url, { since: 0 });
        t.after(() => client.close());
        const published: Message[] = [];
        for (const text of TRICKY_TEXTS) published.push(await publish(server.url, { author: 'ada', text }));
        await client.received(published.length);
        assert.deepEqual(client.messages, published);
        assert.deepEqual(client.events, []);
      });

      test('without since, delivers only what is published after it connects', async (t) => {
        const server = await startServer(t, { config: backend.config() });
        await publish(server.url, { author: 'ada', text: 'before' });
        const client = await open(server.url, {});
        t.after(() => client.close());
        const after = await publish(server.url, { author: 'ada', text: 'after' });
        await client.received(1);
        // Give a wrongly replayed 'before' the time to show up too.
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(client.messages, [after]);
      });

      test('since=0 replays the whole history', async (t) => {
        const server = await startServer(t, { config: backend.config() });
        const published = [
          await publish(server.url, { author: 'ada', text: 'one' }),
          await publish(server.url, { author: 'bob', text: 'two' }),
        ];
        const client = await open(server.url, { since: 0 });
        t.after(() => client.close());
        await client.received(2);
        assert.deepEqual(client.messages, published);
      });

      test('a client that comes back with its cursor gets exactly what it missed', async (t) => {
        const server = await startServer(t, { config: backend.config() });
        const first = await open(server.url, { since: 0 });
        const before = [];
        for (let i = 1; i <= 3; i += 1) before.push(await publish(server.url, { author: 'ada', text: `m${i}` }));
        await first.received(3);
        await first.close();
        const cursor = first.messages.at(-1)?.id;
        assert.equal(cursor, 3);

        const missed = [];
        for (let i = 4; i <= 6; i += 1) missed.push(await publish(server.url, { author: 'ada', text: `m${i}` }));
        const second = await open(server.url, { since: cursor });
        t.after(() => second.close());
        const live = await publish(server.url, { author: 'ada', text: 'm7' });
        await second.received(4);
        assert.deepEqual(second.messages, [...missed, live]);
        assert.deepEqual(first.messages, before);
      });

      test('a cursor older than the history gets the gap signal, then what is left', async (t) => {
        const server = await startServer(t, { config: { ...backend.config(), historySize: 5 } });
        const published = [];
        for (let i = 1; i <= 10; i += 1) published.push(await publish(server.url, { author: 'ada', text: `m${i}` }));
        const client = await open(server.url, { since: 2 });
        t.after(() => client.close());
        await client.received(5);
        // History holds 6..10; the client had 2, so 3, 4 and 5 are gone.
        assert.deepEqual(client.events, [{ type: 'gap', missed: 3 }]);
        assert.deepEqual(client.messages, published.slice(5));
      });

      test('a cursor ahead of the feed (server restarted) gets a reset, then the history', async (t) => {
        const server = await startServer(t, { config: backend.config() });
        const published = [
          await publish(server.url, { author: 'ada', text: 'one' }),
          await publish(server.url, { author: 'ada', text: 'two' }),
        ];
        const client = await open(server.url, { since: 500 });
        t.after(() => client.close());
        await client.received(2);
        assert.deepEqual(client.events, [{ type: 'reset', epoch: server.feed.epoch }]);
        assert.deepEqual(client.messages, published);
      });

      test('a client that returns with its cursor after the feed started over gets a reset and the new feed from id 1', async (t) => {
        const config = backend.config();
        const first = await startServer(t, { config });
        for (let i = 1; i <= 30; i += 1) await publish(first.url, { author: 'ada', text: `old ${i}` });
        const before = await open(first.url, { since: 0 });
        await before.received(30);
        await before.close();
        const { epoch, cursor } = before.position;
        assert.equal(cursor, 30);

        // The feed starts over: a new process on the same port (with the Redis feed, on a
        // Redis that lost the feed's keys), which counts past the client's cursor before
        // the client comes back.
        const { port } = new URL(first.url);
        await first.app.close();
        // As a real client would before its next request: see the old server's FIN on the
        // keep-alive sockets of the publishes above, rather than send on one of them.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (backend.name === 'redis') await forgetFeed(config);
        const second = await startServer(t, { config: { ...config, port: Number(port) } });
        const published: Message[] = [];
        for (let i = 1; i <= 50; i += 1) published.push(await publish(second.url, { author: 'ada', text: `new ${i}` }));

        const back = await open(second.url, { since: cursor, epoch });
        t.after(() => back.close());
        // Before epochs: 31..50 only, and no word of 1..30.
        await back.received(50);
        assert.deepEqual(back.messages, published);
        assert.deepEqual(back.events, [{ type: 'reset', epoch: second.feed.epoch }]);
        assert.notEqual(second.feed.epoch, epoch);
        assert.deepEqual(back.position, { epoch: second.feed.epoch, cursor: 50 });
      });

      if (plainRequests)
        for (const since of ['-1', '1.5', 'abc', '', '1e3', '99999999999999999999']) {
          test(`since=${JSON.stringify(since)} is refused with 400 and a JSON error`, async (t) => {
            const server = await startServer(t, { config: backend.config() });
            const answer = await fetch(`${server.url}/api/${technique}?since=${encodeURIComponent(since)}`);
            assert.equal(answer.status, 400);
            assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
            const body = (await answer.json()) as Record<string, unknown>;
            assert.equal(body.statusCode, 400);
            assert.equal(body.error, 'Bad Request');
            assert.match(String(body.message), /since must be a non-negative integer/);
            const health = await fetch(`${server.url}/api/health`);
            assert.equal(health.status, 200);
          });
        }

      if (plainRequests)
        for (const epoch of ['ABC123', 'a-b', '', 'x'.repeat(17), 'k3j9x2.5', ['aaaaaa', 'bbbbbb']]) {
          test(`epoch=${JSON.stringify(epoch)} is refused with 400 RTL_BAD_EPOCH`, async (t) => {
            const server = await startServer(t, { config: backend.config() });
            const epochs = [epoch]
              .flat()
              .map((value) => `&epoch=${encodeURIComponent(value)}`)
              .join('');
            const answer = await fetch(`${server.url}/api/${technique}?since=1${epochs}`);
            assert.equal(answer.status, 400);
            const body = (await answer.json()) as Record<string, unknown>;
            assert.equal(body.code, 'RTL_BAD_EPOCH');
            assert.match(String(body.message), /^epoch must be 1 to 16 characters of 0-9 and a-z/);
          });
        }
    });
  }

for (const { id } of techniques) {
  test(`HEAD on ${id} answers at once instead of hanging`, async (t) => {
    const server = await startServer(t);
    const response = await fetch(`${server.url}/api/${id}?timeout=0`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(3000),
    });
    assert.ok(response.status < 500, `${id}: ${response.status}`);
    assert.equal(server.feed.listenerCount, 0);
  });
}

/** What a Redis that lost its data looks like to the feed under `config`: its keys are gone. */
async function forgetFeed(config: Partial<Config>): Promise<void> {
  const admin = new Redis(String(config.feed));
  const keys = feedKeys(String(config.redisKeyPrefix));
  try {
    await admin.del(keys.counter, keys.stream, keys.epoch);
  } finally {
    admin.disconnect();
  }
}
