/**
 * The feed's contract, checked on both backends: in memory, and on a private Redis.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from '../test/suite.ts';
import { type Feed, type FeedSubscriber, MemoryFeed } from './feed.ts';
import { RedisFeed } from './redis-feed.ts';
import { usePrivateRedis } from '../test/support.ts';
import { REDIS, type ToolOptions, needs } from '../test/tools.ts';

const input = (text: string) => ({ author: 'ada', text });

const redis = usePrivateRedis();

interface FeedOptions {
  historySize: number;
  onListenerError?: (error: unknown) => void;
}

let prefixes = 0;
/** One way to make a fresh, empty feed per backend, and what it needs; each test gets its own Redis keys. */
const backends: Record<string, { needs: ToolOptions; open: (options: FeedOptions) => Promise<Feed> }> = {
  memory: { needs: {}, open: async (options) => new MemoryFeed(options) },
  redis: {
    needs: needs(REDIS),
    open: (options) => RedisFeed.open({ url: redis().url, keyPrefix: `feed-test-${++prefixes}`, ...options }),
  },
};

for (const [backend, { needs: required, open: openFeed }] of Object.entries(backends)) {
  describe(`${backend} feed`, required, () => {
    const open = async (t: TestContext, options: FeedOptions) => {
      const feed = await openFeed(options);
      t.after(() => feed.close());
      return feed;
    };

    test('ids start at 1 and grow by one', async (t) => {
      const feed = await open(t, { historySize: 10 });
      assert.equal(feed.lastId, 0);
      const ids = [];
      for (let i = 0; i < 3; i += 1) ids.push((await feed.publish(input(`m${i}`))).id);
      assert.deepEqual(ids, [1, 2, 3]);
      assert.equal(feed.lastId, 3);
    });

    test('ts is epoch milliseconds with sub-millisecond precision, never going back', async (t) => {
      const feed = await open(t, { historySize: 100 });
      const before = Date.now();
      const stamps = [];
      for (let i = 0; i < 50; i += 1) stamps.push((await feed.publish(input('x'))).ts);
      assert.ok(stamps.every((ts) => Math.abs(ts - before) < 60_000));
      assert.ok(
        stamps.some((ts) => !Number.isInteger(ts)),
        'some stamp has a fraction of a millisecond',
      );
      assert.deepEqual(
        [...stamps].sort((a, b) => a - b),
        stamps,
      );
    });

    test('since(undefined) is live only: no messages, the cursor of the newest', async (t) => {
      const feed = await open(t, { historySize: 10 });
      await feed.publish(input('a'));
      assert.deepEqual(await feed.since(undefined), { epoch: feed.epoch, cursor: 1, messages: [] });
    });

    test('since(C) returns every message with id > C, and its last id as cursor', async (t) => {
      const feed = await open(t, { historySize: 10 });
      for (const text of ['a', 'b', 'c', 'd']) await feed.publish(input(text));
      const batch = await feed.since(2);
      assert.deepEqual(
        batch.messages.map((m) => m.text),
        ['c', 'd'],
      );
      assert.equal(batch.cursor, 4);
      assert.equal(batch.missed, undefined);
      assert.deepEqual(await feed.since(4), { epoch: feed.epoch, cursor: 4, messages: [] });
      assert.deepEqual(await feed.since(2, feed.epoch), batch, "the feed's own epoch changes nothing");
    });

    test('history is bounded, and a cursor older than it is told how many it missed', async (t) => {
      const feed = await open(t, { historySize: 3 });
      for (let i = 1; i <= 10; i += 1) await feed.publish(input(`m${i}`));
      const batch = await feed.since(0);
      assert.deepEqual(
        batch.messages.map((m) => m.id),
        [8, 9, 10],
      );
      assert.equal(batch.missed, 7);
      assert.equal((await feed.since(5)).missed, 2);
      assert.equal((await feed.since(7)).missed, undefined, 'cursor 7 misses nothing: 8 is still there');
    });

    test('a cursor ahead of the feed gets a reset and the whole history', async (t) => {
      const feed = await open(t, { historySize: 10 });
      await feed.publish(input('a'));
      const batch = await feed.since(99);
      assert.equal(batch.reset, true);
      assert.deepEqual(
        batch.messages.map((m) => m.id),
        [1],
      );
      const empty = await open(t, { historySize: 1 });
      assert.deepEqual(await empty.since(5), { epoch: empty.epoch, cursor: 0, messages: [], reset: true });
    });

    test('every feed has an epoch of its own: 6 characters of [0-9a-z]', async (t) => {
      const epochs = new Set<string>();
      for (let i = 0; i < 5; i += 1) {
        const feed = await open(t, { historySize: 10 });
        assert.match(feed.epoch, /^[0-9a-z]{6}$/);
        epochs.add(feed.epoch);
      }
      assert.equal(epochs.size, 5);
    });

    test('a cursor of another epoch gets a reset and the history from the start, even one behind the feed', async (t) => {
      const feed = await open(t, { historySize: 10 });
      for (let i = 1; i <= 5; i += 1) await feed.publish(input(`m${i}`));
      const batch = await feed.since(3, 'other1');
      assert.equal(batch.reset, true);
      assert.equal(batch.epoch, feed.epoch);
      assert.deepEqual(
        batch.messages.map((m) => m.id),
        [1, 2, 3, 4, 5],
      );
      assert.equal(batch.cursor, 5);
      assert.equal(batch.missed, undefined);
      // Without an epoch the cursor is taken as this feed's, as before epochs.
      assert.deepEqual(
        (await feed.since(3)).messages.map((m) => m.id),
        [4, 5],
      );
    });

    test('a reset whose history no longer reaches id 1 says how many messages are gone', async (t) => {
      const feed = await open(t, { historySize: 3 });
      for (let i = 1; i <= 10; i += 1) await feed.publish(input(`m${i}`));
      const batch = await feed.since(9, 'other1');
      assert.equal(batch.reset, true);
      assert.deepEqual(
        batch.messages.map((m) => m.id),
        [8, 9, 10],
      );
      assert.equal(batch.missed, 7);
    });

    test('subscribe delivers each publish to each subscriber until it unsubscribes', async (t) => {
      const feed = await open(t, { historySize: 10 });
      const seen: number[] = [];
      const subscriber = (): FeedSubscriber => ({ published: (m) => seen.push(m.id) });
      const first = subscriber();
      const second = subscriber();
      feed.subscribe(first);
      feed.subscribe(second);
      feed.subscribe(second);
      assert.equal(feed.listenerCount, 2, 'the same subscriber subscribed twice is one subscription');
      await feed.publish(input('a'));
      feed.unsubscribe(first);
      await feed.publish(input('b'));
      feed.unsubscribe(second);
      feed.unsubscribe(second);
      await feed.publish(input('c'));
      assert.deepEqual(seen, [1, 1, 2]);
      assert.equal(feed.listenerCount, 0);
    });

    test('a throwing listener is reported and does not stop the others', async (t) => {
      const errors: unknown[] = [];
      const feed = await open(t, { historySize: 10, onListenerError: (error) => errors.push(error) });
      const seen: number[] = [];
      feed.subscribe({
        published() {
          throw new Error('boom');
        },
      });
      feed.subscribe({ published: (m) => seen.push(m.id) });
      await feed.publish(input('a'));
      assert.deepEqual(seen, [1]);
      assert.equal(errors.length, 1);
    });

    test('a history size that is not a positive integer is refused', async () => {
      await assert.rejects(openFeed({ historySize: 0 }), RangeError);
      await assert.rejects(openFeed({ historySize: 1.5 }), RangeError);
    });

    test('reports itself healthy', async (t) => {
      const feed = await open(t, { historySize: 10 });
      assert.deepEqual(feed.health(), { ok: true });
    });
  });
}
