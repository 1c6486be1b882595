/**
 * The bench's strategies run (`--strategies`), end to end through its command line: two
 * cases with WebSocket refused for every client, which must land where the auto client's
 * order says (read from capabilities, as the client reads it), lose nothing, and count
 * the refused attempts' bytes. results.json must validate against the schema.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { withCapabilities } from '../server/contract/techniques.js';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import type { BenchResult } from './result.ts';
import { UsageError, parseOptions } from './options.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const [UPGRADING] = withCapabilities({ upgrades: true });
// The auto client's order (server/contract/strategies.js): past what upgrades, the streams but
// the script stream (its client is its own panel's); the upgrade starts on the long poll.
const [FIRST_STREAM] = withCapabilities({ streams: true, upgrades: false }).filter((t) => t.wire !== 'script-stream');
const [LONG_POLL] = withCapabilities({ holdsRequest: true, streams: false });
if (!UPGRADING || !FIRST_STREAM || !LONG_POLL)
  throw new Error('the registry lacks what the auto client falls back through');
const LANDS_ON = { fallback: FIRST_STREAM.id, upgrade: LONG_POLL.id };

describe('the strategies bench, WebSocket refused', needs(CHROMIUM), () => {
  let out: string;
  let result: BenchResult;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'realtime-lab-strategies-'));
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/cli.ts',
        '--strategies',
        'fallback,upgrade',
        '--blocks',
        `${UPGRADING.id}=refuse`,
        '--clients',
        '2',
        '--duration',
        '1.5',
        '--out',
        out,
      ],
      { cwd: ROOT, timeout: 60_000 },
    );
    result = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
  });
  after(() => out && rm(out, { recursive: true, force: true }));

  test('results.json validates against the schema, with one case per strategy', async () => {
    const schema = JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    assert.ok(validate(result), ajv.errorsText(validate.errors));
    assert.deepEqual(
      result.strategies?.cases.map((c) => [c.strategy, c.blocks]),
      [
        ['fallback', { [UPGRADING.id]: 'refuse' }],
        ['upgrade', { [UPGRADING.id]: 'refuse' }],
      ],
    );
  });

  test('every published message reached every client once', () => {
    for (const c of result.strategies?.cases ?? []) {
      assert.ok(c.messagesPublished > 0, c.label);
      assert.equal(c.messagesDelivered, c.messagesExpected, c.label);
      assert.equal(c.lost, 0, c.label);
      assert.equal(c.clientsReportedLost, 0, c.label);
      assert.equal(c.duplicatesShown, 0, c.label);
    }
  });

  test('each client landed where the strategy leads without WebSocket, and paid for the refused attempts', () => {
    for (const c of result.strategies?.cases ?? []) {
      assert.deepEqual(c.landedOn, { [LANDS_ON[c.strategy]]: c.clients }, c.label);
      for (const client of c.perClient) {
        assert.ok(client.failedBytes > 0, `${c.label}: ${JSON.stringify(client.attempts)}`);
        const refused = client.attempts.filter((a) => a.technique === UPGRADING.id);
        assert.ok(refused.length > 0 && refused.every((a) => a.outcome === 'failed'), c.label);
      }
      assert.ok(c.firstMessageMs !== null && c.firstMessageMs.max > 0, c.label);
    }
  });

  test('the summary has the table and the two charts are drawn', async () => {
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    assert.match(summary, /## Fallback and upgrade strategies/);
    assert.match(summary, new RegExp(`\\| fallback \\| ${UPGRADING.id}=refuse \\| 2 \\| ${FIRST_STREAM.id} ×2 \\|`));
    const files = await readdir(out);
    for (const chart of ['strategies-first-message.png', 'strategies-failed-bytes.png'])
      assert.ok(files.includes(chart), chart);
  });
});

describe('--strategies and --blocks on the command line', () => {
  test('the default block sets come from capabilities: nothing, what upgrades refused, the streams buffered, then refused', () => {
    const options = parseOptions(['--strategies', 'all']);
    assert.deepEqual(options?.strategies, ['fallback', 'upgrade']);
    assert.deepEqual(options?.clients, [3]);
    const refused = { [UPGRADING.id]: 'refuse' };
    const [none, upgradingRefused, buffered, streamsRefused] = options?.blockSets ?? [];
    assert.deepEqual(none, {});
    assert.deepEqual(upgradingRefused, refused);
    assert.equal(buffered?.[FIRST_STREAM.id], 'buffer');
    assert.equal(streamsRefused?.[FIRST_STREAM.id], 'refuse');
    assert.equal(buffered?.[UPGRADING.id], 'refuse');
  });

  test('block sets read as written; a bad one names what is allowed', () => {
    assert.deepEqual(
      parseOptions(['--strategies', 'fallback', '--blocks', `none,${UPGRADING.id}=refuse+${LONG_POLL.id}=buffer`])
        ?.blockSets,
      [{}, { [UPGRADING.id]: 'refuse', [LONG_POLL.id]: 'buffer' }],
    );
    assert.throws(
      () => parseOptions(['--strategies', 'fallback', '--blocks', `${UPGRADING.id}=buffer`]),
      /holds no request/,
    );
    assert.throws(() => parseOptions(['--strategies', 'fallback', '--blocks', 'nope=refuse']), /no technique "nope"/);
    assert.throws(() => parseOptions(['--strategies', 'sideways']), /the strategies are fallback, upgrade/);
    assert.throws(() => parseOptions(['--blocks', 'none']), UsageError);
    assert.throws(() => parseOptions(['--strategies', 'all', '--rtt', '50']), UsageError);
    assert.throws(() => parseOptions(['--strategies', 'all', '--clients', '2,3']), UsageError);
  });
});
