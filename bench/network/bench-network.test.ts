/**
 * The bench's network flags end to end through the CLI: a short real run with a round
 * trip sweep puts the subscribers (and only them) behind the shaper, records the
 * conditions, checks the models that include the trip, and writes the sweep charts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { type Technique, withCapabilities } from '../../server/contract/techniques.js';
import type { BenchResult } from '../result.ts';
import { takeHeavySlot } from '../../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RTT_MS = 150;
/** The first registered technique with these capabilities; none is an error, not a test asserting nothing. */
function first(wanted: Parameters<typeof withCapabilities>[0]): Technique {
  const found = withCapabilities(wanted)[0];
  assert.ok(found, `no registered technique has ${JSON.stringify(wanted)}`);
  return found;
}
const A_STREAM = first({ streams: true, upgrades: false });
const A_LONG_POLL = first({ holdsRequest: true, streams: false });

function bench(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
}

describe(`a bench run over --rtt 0,${RTT_MS}`, () => {
  let out: string;
  let result: BenchResult;
  let stdout: string;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-network-'));
    // 20 msg/s is a message every 50 ms: faster than one per 150 ms trip, so long polling batches.
    ({ stdout } = await bench([
      '--techniques',
      `${A_LONG_POLL.id},${A_STREAM.id}`,
      '--clients',
      '4',
      '--rate',
      '20',
      '--duration',
      '2',
      '--rtt',
      `0,${RTT_MS}`,
      '--out',
      out,
    ]));
    result = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchResult;
  });

  after(() => rm(out, { recursive: true, force: true }));

  test('records the conditions of the run and of each technique, and validates against the schema', async () => {
    assert.deepEqual(result.config.network, {
      profile: null,
      rttMs: [0, RTT_MS],
      bandwidthKbit: null,
      lossPercent: 0,
      jitterMs: 0,
    });
    assert.deepEqual(
      result.techniques.map((r) => [r.technique, r.network?.rttMs]),
      [
        [A_LONG_POLL.id, 0],
        [A_STREAM.id, 0],
        [A_LONG_POLL.id, RTT_MS],
        [A_STREAM.id, RTT_MS],
      ],
    );
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8')));
    assert.ok(validate(result), JSON.stringify(validate.errors));
    assert.match(stdout, /RTT ms/);
  });

  test('every message still arrives, once and in order', () => {
    for (const r of result.techniques) {
      assert.equal(r.lost, 0, `${r.technique} @ ${r.network?.rttMs}`);
      assert.equal(r.duplicates, 0);
      assert.equal(r.outOfOrder, 0);
    }
  });

  test('the subscribers pay the trip: a stream one way, a batching long poll fewer requests than messages', () => {
    const at = (id: string, rtt: number) =>
      result.techniques.find((r) => r.technique === id && r.network?.rttMs === rtt) as BenchResult['techniques'][0];
    const stream = at(A_STREAM.id, RTT_MS);
    // Delay is from the server's accept of the publish: only the subscriber's leg is shaped.
    assert.ok(
      (stream.latencyMs?.mean ?? 0) >= RTT_MS / 2 - 1,
      `a stream's mean delay is at least one way: ${stream.latencyMs?.mean}`,
    );
    assert.ok((stream.latencyMs?.mean ?? 0) < RTT_MS, `but not a whole trip: ${stream.latencyMs?.mean}`);
    const poll = at(A_LONG_POLL.id, RTT_MS);
    const loopback = at(A_LONG_POLL.id, 0);
    assert.ok(
      (poll.httpRequestsPerMessage ?? 1) < 0.6 * (loopback.httpRequestsPerMessage ?? 0),
      `batching: ${poll.httpRequestsPerMessage} requests per message at ${RTT_MS} ms, ${loopback.httpRequestsPerMessage} on loopback`,
    );
    const model = poll.theory.find((t) => t.metric === 'httpRequests');
    assert.ok(model?.model.includes('batched'), 'the model says the long poll batches');
  });

  test('the sweep charts are written', async () => {
    const files = await readdir(out);
    for (const chart of ['rtt-sweep-delay.png', 'rtt-sweep-requests.png']) assert.ok(files.includes(chart), chart);
  });
});

describe('the network flags', () => {
  for (const [args, message] of [
    [['--network', 'dial-up'], /--network: unknown profile "dial-up"; known: lan, good-mobile/],
    [['--rtt', '50,50'], /--rtt: a round trip is listed twice/],
    [['--rtt', 'far'], /--rtt: expected a number/],
    [['--loss', '80'], /--loss: 80 is out of range/],
    [['--bandwidth', '0'], /--bandwidth: 0 kbit\/s carries nothing/],
  ] as const) {
    test(`${args.join(' ')} is refused with exit code 2 before anything starts`, async () => {
      await assert.rejects(bench([...args]), (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, message);
        return true;
      });
    });
  }

  test('--help lists them and the profiles', async () => {
    const { stdout } = await bench(['--help']);
    for (const text of ['--rtt', '--bandwidth', '--loss', '--network', 'poor-mobile', 'satellite'])
      assert.ok(stdout.includes(text), text);
  });
});
