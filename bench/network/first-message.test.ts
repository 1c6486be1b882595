/**
 * Time to first message through the CLI: a short real run at two round trips, with a
 * poller, a stream over plain HTTP and an upgraded connection, where the fresh clients
 * opened after each run must pay two round trips (TCP's handshake, then the request or
 * the upgrade) and no more, as each driver's model says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { type Technique, withCapabilities } from '../../server/contract/techniques.js';
import type { BenchResult, TechniqueResult } from '../result.ts';
import { FIRST_MESSAGE_PROBES } from './first-message.ts';
import { takeHeavySlot } from '../../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RTT_MS = 100;
/** Round trips before a waiting message arrives, for every technique: TCP's, then the request's or the upgrade's. */
const TRIPS = 2;

/** The first registered technique with these capabilities; none is an error, not a test asserting nothing. */
function first(wanted: Parameters<typeof withCapabilities>[0]): Technique {
  const found = withCapabilities(wanted)[0];
  assert.ok(found, `no registered technique has ${JSON.stringify(wanted)}`);
  return found;
}
const CHOSEN = [first({ pollsWhenIdle: true }), first({ streams: true, upgrades: false }), first({ upgrades: true })];

describe(`time to first message over --rtt 0,${RTT_MS}`, () => {
  let out: string;
  let result: BenchResult;
  const at = (id: string, rtt: number) =>
    result.techniques.find((r) => r.technique === id && r.network?.rttMs === rtt) as TechniqueResult;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-first-message-'));
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/cli.ts',
        '--techniques',
        CHOSEN.map((t) => t.id).join(','),
        '--clients',
        '2',
        '--duration',
        '1',
        '--rtt',
        `0,${RTT_MS}`,
        '--out',
        out,
      ],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 },
    );
    result = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchResult;
  });

  after(() => rm(out, { recursive: true, force: true }));

  test('results.json records it per run and validates against the schema', async () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8')));
    assert.ok(validate(result), JSON.stringify(validate.errors));
    for (const r of result.techniques) {
      assert.equal(typeof r.firstMessageMs, 'number', `${r.technique} @ ${r.network?.rttMs}: ${r.firstMessageMs}`);
      assert.equal(r.firstMessageProbesMs?.length, FIRST_MESSAGE_PROBES);
    }
    assert.match(await readFile(join(out, 'summary.md'), 'utf8'), /## Time to first message/);
  });

  for (const technique of CHOSEN) {
    test(`${technique.id}: the first message costs ${TRIPS} round trips more at ${RTT_MS} ms than on loopback`, () => {
      // The quickest probe of each: a shared machine only ever adds delay (one loopback
      // probe took 48 ms under a full suite with other work running), never removes a
      // round trip, so the floor is what the network itself costs.
      const loopback = Math.min(...(at(technique.id, 0).firstMessageProbesMs as number[]));
      const shaped = Math.min(...(at(technique.id, RTT_MS).firstMessageProbesMs as number[]));
      // Within one run, so the machine's own delays mostly cancel out; generous, as it is shared,
      // yet one trip fewer (0.5) or one more (1.5) falls outside.
      const trips = (shaped - loopback) / RTT_MS;
      assert.ok(
        trips > TRIPS * 0.85 && trips < TRIPS * 1.35,
        `${technique.id}: ${loopback} ms on loopback, ${shaped} ms at ${RTT_MS} ms: ${trips.toFixed(2)} round trips`,
      );
    });
  }

  test("each driver's model predicts it, and the probes stay out of the run's own counts", () => {
    for (const r of result.techniques) {
      const model = r.theory.find((t) => t.metric === 'firstMessageMs');
      assert.ok(model, `${r.technique} @ ${r.network?.rttMs} has a first-message model`);
      assert.equal(model.predicted, TRIPS * (r.network?.rttMs ?? 0));
      assert.equal(model.measured, r.firstMessageMs);
      // Exact for the techniques with one request per client: a probe counted in would show.
      const requests = r.theory.find((t) => t.metric === 'httpRequests');
      if (requests?.tolerance === 0) assert.equal(r.httpRequests, r.clients, r.technique);
    }
  });
});
