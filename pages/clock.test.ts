/**
 * The page's estimate of the server's clock: a message's stamp proves the server's clock
 * reads at least that much when the message arrives, so no delay the panels read from the
 * estimate can be negative, however long the samples' round trips were.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

/** The little of clock.js this test uses. */
interface Clock {
  offset: number;
  now(): number;
  heard(ts: number): void;
}
// Loaded by URL, not named in an import: clock.js is browser code (fetch's `cache`
// option), which the type-check, done with Node's types, would refuse.
const { ServerClock, epochNow } = (await import(new URL('./clock.js', import.meta.url).href)) as {
  ServerClock: new () => Clock;
  epochNow: () => number;
};

test('a stamp ahead of the estimate moves it up to the stamp, and a delay read after it is not negative', () => {
  const clock = new ServerClock();
  // A message stamped 8 ms past what the estimate says now: the estimate was 8 ms behind.
  const ts = clock.now() + 8;
  clock.heard(ts);
  assert.ok(clock.now() - ts >= 0, `delay ${clock.now() - ts} ms`);
  assert.ok(clock.offset >= 8 - 1, `offset ${clock.offset} ms`);
});

test('a stamp behind the estimate changes nothing: it proves nothing the estimate did not know', () => {
  const clock = new ServerClock();
  clock.offset = 3;
  clock.heard(epochNow() - 50);
  assert.equal(clock.offset, 3);
});
