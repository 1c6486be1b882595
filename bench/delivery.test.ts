import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryTracker, summarize } from './delivery.ts';

const AUTHOR = 'bench-test';
const message = (id: number) => ({ id, ts: 1000 + id, author: AUTHOR });

test('a message counts once per client; a second copy is a duplicate', () => {
  const tracker = new DeliveryTracker(AUTHOR, 2);
  tracker.record(0, message(1), 1, 100);
  tracker.record(1, message(1), 2, 100);
  tracker.record(0, message(1), 3, 100);
  const figures = tracker.figures();
  assert.equal(figures.messagesDelivered, 2);
  assert.equal(figures.duplicates, 1);
  assert.equal(figures.payloadBytes, 200);
  assert.equal(figures.latencyMs?.samples, 2);
});

test('an id lower than one already received by that client is out of order', () => {
  const tracker = new DeliveryTracker(AUTHOR, 2);
  tracker.record(0, message(2), 1, 10);
  tracker.record(1, message(1), 1, 10);
  tracker.record(0, message(1), 1, 10);
  assert.equal(tracker.figures().outOfOrder, 1);
});

test('messages of other authors are counted apart and never as delivered', () => {
  const tracker = new DeliveryTracker(AUTHOR, 1);
  tracker.record(0, { id: 5, ts: 0, author: 'someone' }, 1, 10);
  assert.deepEqual([tracker.delivered, tracker.figures().foreign], [0, 1]);
});

test('hasAll is true only when every client has every id', () => {
  const tracker = new DeliveryTracker(AUTHOR, 2);
  for (const id of [1, 2]) tracker.record(0, message(id), 1, 10);
  tracker.record(1, message(1), 1, 10);
  assert.equal(tracker.hasAll([1, 2]), false);
  tracker.record(1, message(2), 1, 10);
  assert.equal(tracker.hasAll([1, 2]), true);
});

test('percentiles are nearest-rank over the samples, and the CDF has 101 points', () => {
  const summary = summarize(Float64Array.from({ length: 100 }, (_, i) => i + 1));
  assert.ok(summary);
  assert.deepEqual([summary.p50, summary.p90, summary.p99, summary.max, summary.mean], [50, 90, 99, 100, 50.5]);
  assert.equal(summary.percentiles.length, 101);
  assert.equal(summary.percentiles[0], 1);
  assert.equal(summary.percentiles[100], 100);
  assert.equal(summarize(new Float64Array()), null);
});
