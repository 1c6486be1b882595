/**
 * What the bench's pollers ask for, as the server receives it: their cursor, its epoch and
 * their client id, and nothing else. The bench measures the wire a page's poller sends,
 * so a parameter that only restates a server default (a long poll's `timeout=`, 14 bytes
 * a request) has no place in it.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { techniques } from '../../server/contract/techniques.js';
import { publish, startServer } from '../../test/support.ts';
import { test } from '../../test/suite.ts';
import { calibrate } from '../clock.ts';
import { DeliveryTracker } from '../delivery.ts';
import { drivers } from './index.ts';

const CLIENTS = 3;
const AUTHOR = 'poll-requests';

for (const technique of techniques.filter((t) => t.wire === 'poll')) {
  test(`${technique.id}: the bench's pollers name their cursor, its epoch and their client id, nothing else`, async (t) => {
    const driver = drivers.find((d) => d.id === technique.id);
    assert.ok(driver, technique.id);
    const server = await startServer(t);
    const path = `/api/${technique.id}`;
    const queries: string[][] = [];
    server.app.server.on('request', (request: IncomingMessage) => {
      const url = new URL(request.url ?? '/', server.url);
      if (url.pathname === path) queries.push([...url.searchParams.keys()]);
    });
    const tracker = new DeliveryTracker(AUTHOR, CLIENTS);
    const subscribers = driver.subscribe({
      technique: driver,
      baseUrl: server.url,
      clientId: `bench-test-${technique.id}`,
      clients: CLIENTS,
      since: server.feed.lastId,
      epoch: server.feed.epoch,
      pollIntervalMs: 50,
      tracker,
      clock: await calibrate(server.url, 3),
    });
    try {
      await subscribers.ready;
      const ids = [];
      for (let i = 0; i < 2; i += 1) ids.push((await publish(server.url, { author: AUTHOR, text: `m${i}` })).id);
      const deadline = Date.now() + 5000;
      while (!tracker.hasAll(ids) && Date.now() < deadline) await sleep(20);
      assert.ok(tracker.hasAll(ids), 'every poller got both messages');
    } finally {
      await subscribers.stop();
    }
    assert.ok(queries.length >= CLIENTS, `${queries.length} polls seen`);
    for (const keys of queries) assert.deepEqual(keys, ['since', 'epoch', 'client']);
  });
}
