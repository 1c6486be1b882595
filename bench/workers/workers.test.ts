import assert from 'node:assert/strict';
import { techniques } from '../../server/contract/techniques.js';
import { publish, startServer } from '../../test/support.ts';
import { test } from '../../test/suite.ts';
import { calibrate } from '../clock.ts';
import { DeliveryTracker } from '../delivery.ts';
import { clientCpuBetween, clientCpuWarning, withLoopDelays } from './cpu.ts';
import { slices, subscribeInWorkers } from './subscribe.ts';

const AUTHOR = 'bench-workers-test';
const CLIENTS = 30;

/** One technique per way of being reached: held and answered, streamed over HTTP, upgraded. */
const picked = [
  techniques.find((t) => t.capabilities.holdsRequest && !t.capabilities.streams),
  techniques.find((t) => t.capabilities.holdsRequest && t.capabilities.streams),
  techniques.find((t) => t.capabilities.upgrades),
].filter((t) => t !== undefined);

test('slices are as even as possible, cover every client once, and never outnumber them', () => {
  assert.deepEqual(slices(10, 3), [
    { first: 0, size: 3 },
    { first: 3, size: 3 },
    { first: 6, size: 4 },
  ]);
  assert.deepEqual(slices(2, 5), [
    { first: 0, size: 1 },
    { first: 1, size: 1 },
  ]);
});

for (const technique of picked) {
  test(`${technique.id}: subscribers in 2 workers get every message exactly once, numbered as one run`, async (t) => {
    // Every client is 127.0.0.1, and so are each worker's stats requests: room for all.
    const server = await startServer(t, { config: { maxConnectionsPerAddress: 4 * CLIENTS } });
    const health = (await (await fetch(`${server.url}/api/health`)).json()) as { lastId: number; epoch: string };
    const clock = await calibrate(server.url, 5);
    const tracker = new DeliveryTracker(AUTHOR, CLIENTS);
    const subscribers = subscribeInWorkers(
      {
        techniqueId: technique.id,
        workers: 2,
        baseUrl: server.url,
        clientId: 'workers-test',
        clients: CLIENTS,
        since: health.lastId,
        epoch: health.epoch,
        pollIntervalMs: 1000,
        clockOffsetMs: clock.offsetMs,
      },
      tracker,
    );
    t.after(() => subscribers.stop());
    assert.equal(subscribers.connectMs(), null, 'no connect time before ready');
    await subscribers.ready;
    assert.ok((subscribers.connectMs() ?? -1) >= 0, 'the time to connect every client');
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await publish(server.url, { author: AUTHOR, text: `m${i}` })).id);
    const deadline = Date.now() + 10_000;
    while (!tracker.hasAll(ids) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const cpu = subscribers.clientCpu();
    const report = await subscribers.stop();
    assert.deepEqual(
      subscribers
        .loopDelays()
        .map((l) => l.pid)
        .sort(),
      cpu.map((w) => w.pid).sort(),
      'each worker reported its event-loop delay',
    );
    const figures = tracker.figures();
    assert.ok(tracker.hasAll(ids), `every client has every id (${figures.messagesDelivered} of ${CLIENTS * 3})`);
    assert.equal(figures.messagesDelivered, CLIENTS * ids.length);
    assert.equal(figures.duplicates, 0);
    assert.equal(report.errors, 0);
    assert.equal(cpu.length, 2, 'one CPU figure per worker');
    assert.ok(cpu.every((w) => w.cpuMs > 0 && w.pid !== process.pid));
    // Delays are on the server's clock: positive and well under the test's length.
    const latency = figures.latencyMs;
    assert.ok(latency && latency.p50 >= 0 && latency.max < 10_000, JSON.stringify(latency));
  });
}

test('a worker that cannot connect fails ready with the reason, and stop leaves no process behind', async () => {
  const tracker = new DeliveryTracker(AUTHOR, 4);
  const subscribers = subscribeInWorkers(
    {
      techniqueId: picked[1]?.id ?? '',
      workers: 2,
      // Nothing listens on port 9 of loopback (discard is not run here): connections are refused.
      baseUrl: 'http://127.0.0.1:9',
      clientId: 'workers-test',
      clients: 4,
      since: 0,
      epoch: undefined,
      pollIntervalMs: 1000,
      clockOffsetMs: 0,
    },
    tracker,
  );
  await assert.rejects(subscribers.ready, /subscriber worker \d+ .*ECONNREFUSED/);
  const pids = subscribers.clientCpu().map((w) => w.pid);
  await subscribers.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is gone`);
});

test('a worker above 80% of a core during a phase is warned about, one below is not', () => {
  const cpu = clientCpuBetween(
    [
      { pid: 1, cpuMs: 100 },
      { pid: 2, cpuMs: 100 },
    ],
    [
      { pid: 1, cpuMs: 1000 },
      { pid: 2, cpuMs: 400 },
    ],
    1000,
  );
  assert.deepEqual(
    cpu.workers.map((w) => w.coreShare),
    [0.9, 0.3],
  );
  assert.equal(cpu.totalMs, 1200);
  assert.match(clientCpuWarning(cpu, 'sse, 10000 clients') ?? '', /1 of 2 client workers used 90% of a core/);
  const idle = clientCpuBetween([{ pid: 1, cpuMs: 0 }], [{ pid: 1, cpuMs: 500 }], 1000);
  assert.equal(clientCpuWarning(idle, 'x'), null);
  // Little CPU over the phase, but an event loop that ran late in the bursts.
  const late = withLoopDelays(idle, [{ pid: 1, p99Ms: 120, maxMs: 300 }]);
  assert.match(clientCpuWarning(late, 'x') ?? '', /1 of 1 client workers' event loops ran up to 120 ms late/);
  assert.equal(clientCpuWarning(withLoopDelays(idle, [{ pid: 1, p99Ms: 12, maxMs: 30 }]), 'x'), null);
});
