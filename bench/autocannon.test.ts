import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { paced, start } from './autocannon.ts';

test('paced connections send one request per interval each, their phases spread over the interval', async (t) => {
  const arrivals: number[] = [];
  const server = createServer((_req, res) => {
    arrivals.push(performance.now());
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const connections = 4;
  const intervalMs = 200;
  const origin = performance.now();
  let next = 0;
  let stopped = false;
  const { instance, done } = start({
    url: `http://127.0.0.1:${address.port}`,
    connections,
    duration: 60,
    setupClient: (client) => paced(client, intervalMs, origin + (next++ * intervalMs) / connections, () => stopped),
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  stopped = true;
  instance.stop();
  await done;
  // 4 connections × 1000 ms ÷ 200 ms = 20, give or take a slot each.
  assert.ok(arrivals.length >= 16 && arrivals.length <= 24, `${arrivals.length} requests`);
  // Spread, not a burst: the first four arrive about 50 ms apart, not in the same instant.
  const first = arrivals.slice(0, connections);
  assert.ok((first.at(-1) ?? 0) - (first[0] ?? 0) >= 100, `the first requests span ${(first.at(-1) ?? 0) - (first[0] ?? 0)} ms`);
  const afterStop = arrivals.filter((at) => at > origin + 1100);
  assert.equal(afterStop.length, 0, 'no request after stop');
});

test('a paced connection asked to ask again at once (a poll answered with more) sends the next request off its grid', async (t) => {
  const arrivals: number[] = [];
  const server = createServer((_req, res) => {
    arrivals.push(performance.now());
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const intervalMs = 2000;
  // The first three answers say "more": four requests at once, then the grid again.
  let answers = 0;
  let stopped = false;
  const { instance, done } = start({
    url: `http://127.0.0.1:${address.port}`,
    connections: 1,
    duration: 60,
    setupClient: (client) => {
      paced(client, intervalMs, performance.now(), () => stopped, () => answers <= 3);
      client.on('response', () => (answers += 1));
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  stopped = true;
  instance.stop();
  await done;
  assert.equal(arrivals.length, 4, `${arrivals.length} requests in the first second, at an interval of ${intervalMs} ms`);
  assert.ok((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0) < 500, 'one after the other, not a slot apart');
});
