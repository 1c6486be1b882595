/**
 * The crowd run end to end, small: two techniques chosen by capability, 100 clients in
 * 2 worker processes, realtime-lab and the bare server each, a few messages (one size,
 * which results.json records as a number: a list is a sweep).
 * Every delivery once, the result's fields and schema, the charts drawn with every value
 * on its axis; and no process left behind, after a run and after a failed one.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { techniques } from '../../server/contract/techniques.js';
import { takeHeavySlot } from '../../test/heavy.ts';
import { test } from '../../test/suite.ts';
import { parseOptions } from '../options.ts';
import { buildCharts } from '../report/charts.ts';
import { withChart } from '../report/png.ts';
import { writeReport } from '../report/write.ts';
import { runCrowdBench } from './bench.ts';
import { runCrowd } from './run.ts';

await takeHeavySlot();

const ROOT = new URL('../../', import.meta.url);
const stream = techniques.find((t) => t.capabilities.streams && t.capabilities.holdsRequest);
const held = techniques.find((t) => t.capabilities.holdsRequest && !t.capabilities.streams);

/** What the crowd run starts: the servers and the client workers (tsx's own esbuild is not one). */
const STARTED = ['server/main.ts', 'bench/bare/main.ts', 'bench/workers/worker.ts'];

/** The pids of this process's live children that the crowd run started, from /proc; those whose command has `only`, if given. */
function children(only?: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        // A zombie (Z) has exited; only its parent's wait is pending.
        if (Number(fields[1]) !== process.pid || fields[0] === 'Z') return false;
        return only ? command.includes(only) : STARTED.some((script) => command.includes(script));
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('a small crowd run: every delivery once, on realtime-lab and on the bare server, its fields, its charts', async (t) => {
  assert.ok(stream && held, 'the registry has a streaming technique and a held poll');
  const out = await mkdtemp(join(tmpdir(), 'realtime-lab-crowd-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const options = parseOptions([
    '--crowd',
    '100,50',
    '--crowd-workers',
    '2',
    '--techniques',
    `${stream.id},${held.id}`,
    '--rate',
    '5',
    '--duration',
    '1',
  ]);
  assert.ok(options?.crowd);
  assert.deepEqual(options.crowd.sizes, [50, 100], 'sizes in order');
  // One size runs (two would double the time for nothing more: each size is its own runs).
  const result = await runCrowdBench({ ...options, crowd: { ...options.crowd, sizes: [100], idleMs: 300 } });

  const runs = result.crowd?.runs ?? [];
  assert.deepEqual(
    runs.map((r) => `${r.technique} ${r.clients} ${r.server}`),
    [stream.id, held.id].flatMap((id) => [`${id} 100 realtime-lab`, `${id} 100 bare`]),
  );
  for (const r of runs) {
    const name = `${r.technique} on ${r.server} at ${r.clients}`;
    assert.equal(r.messagesPublished, 5, name);
    assert.equal(r.messagesDelivered, 5 * r.clients, name);
    assert.equal(r.lost, 0, name);
    assert.equal(r.duplicates, 0, name);
    assert.equal(r.subscriberErrors, 0, name);
    assert.equal(r.latencyMs?.samples, 5 * r.clients, name);
    assert.ok(r.connectMs > 0, `${name}: connect time`);
    assert.ok(r.memory.rssBeforeBytes > 0 && r.memory.rssConnectedBytes > 0, `${name}: memory read`);
    // Each connection holds something once garbage is collected: a figure that came out
    // zero or below would say the reading missed it.
    assert.ok(r.memory.heldConnectedBytes > r.memory.heldBeforeBytes, `${name}: the connections hold memory`);
    assert.equal(r.clientCpu.workers.length, 2, `${name}: two workers`);
    assert.ok(r.clientCpu.totalMs >= 0 && r.cpu.publishPhaseMs > 0, name);
  }
  assert.deepEqual(children(), [], 'no server or worker left running');

  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(await readFile(new URL('bench/results.schema.json', ROOT), 'utf8')));
  assert.ok(validate(result), ajv.errorsText(validate.errors));

  const charts = buildCharts(result);
  assert.deepEqual(
    charts.map((c) => c.name),
    ['crowd-delay-p50', 'crowd-delay-p99', 'crowd-cpu-per-message', 'crowd-memory-per-connection'],
  );
  for (const { name, config } of charts) {
    await withChart(config, async (chart) => {
      const y = chart.scales.y;
      assert.ok(y);
      const drawn = chart.data.datasets.flatMap((d) => (d.data as (number | null)[]).filter((v) => v !== null));
      assert.equal(drawn.length, 4, `${name}: a value per run`);
      for (const value of drawn) assert.ok(y.min <= value && value <= y.max, `${name}: ${value} off its axis`);
      if (y.type === 'linear') assert.ok(y.min <= 0, `${name}: a linear axis from zero`);
    });
  }
  const files = await writeReport(result, out);
  for (const chart of charts) assert.ok(files.includes(`${chart.name}.png`));
  assert.ok((await readdir(out)).includes('summary.md'));
  const summary = await readFile(join(out, 'summary.md'), 'utf8');
  assert.match(summary, /## Crowd: realtime-lab beside a bare broadcast server/);
  assert.match(summary, new RegExp(`\\| ${held.id} \\| 100 \\| 500 / 500, 500 / 500 \\|`));
});

test('a crowd run whose client worker dies stops its server and the other workers, and says why', async () => {
  assert.ok(stream);
  let killed: number | undefined;
  const killer = setInterval(() => {
    const [worker] = children('bench/workers/worker.ts');
    if (worker === undefined || killed !== undefined) return;
    killed = worker;
    process.kill(worker, 'SIGKILL');
  }, 10);
  try {
    await assert.rejects(
      runCrowd({
        technique: stream,
        server: 'realtime-lab',
        clients: 10,
        workers: 2,
        messages: 1,
        rate: 1,
        payloadBytes: 100,
        idleMs: 0,
      }),
      /subscriber worker \d+ \(.*\) exited \(SIGKILL\) before it was ready/,
    );
  } finally {
    clearInterval(killer);
  }
  assert.ok(killed !== undefined, 'a worker was killed');
  assert.deepEqual(children(), [], 'no server or worker left running');
});
