/**
 * `--intermediary` end to end, in the bench's own engine: a short run of the technique
 * that upgrades, direct and behind the Upgrade-stripping proxy, with real server
 * processes and real subscribers. The direct run delivers; the stripped one is judged
 * broken, with the server's 426 as what the subscribers saw; results.json validates, and
 * the report has the table and the grid chart. And the flag's values are checked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { withCapabilities } from '../../server/contract/techniques.js';
import { test } from '../../test/suite.ts';
import { runBench } from '../engine.ts';
import { UsageError, parseOptions } from '../options.ts';
import { writeReport } from '../report/write.ts';
import { takeHeavySlot } from '../../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const upgrading = withCapabilities({ upgrades: true });

test('the Upgrade-stripping proxy breaks the upgrading technique, and the bench says so', async (t) => {
  const technique = upgrading[0];
  assert.ok(technique, 'a registered technique upgrades');
  const out = await mkdtemp(join(tmpdir(), 'realtime-lab-intermediary-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const options = parseOptions([
    ...['--techniques', technique.id, '--clients', '2', '--rate', '10', '--duration', '1'],
    ...['--intermediary', 'strip-upgrade', '--out', out],
  ]);
  assert.ok(options);
  const result = await runBench(options);

  assert.deepEqual(
    result.techniques.map((r) => r.intermediary?.name),
    ['none', 'strip-upgrade'],
  );
  const [direct, stripped] = result.techniques;
  assert.equal(direct?.intermediary?.verdict, 'delivered');
  assert.equal(direct?.lost, 0);
  assert.equal(stripped?.intermediary?.verdict, 'broken');
  assert.equal(stripped?.messagesDelivered, 0);
  assert.match(stripped?.intermediary?.connectError ?? '', /426/);
  assert.ok((stripped?.intermediary?.figures.statuses?.['426'] ?? 0) >= 2, 'every subscriber got the 426');
  assert.deepEqual(result.config.intermediaries, ['strip-upgrade']);

  const schema = JSON.parse(await readFile(fileURLToPath(new URL('../results.schema.json', import.meta.url)), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  assert.ok(validate(result), ajv.errorsText(validate.errors));

  await writeReport(result, out);
  assert.ok((await readdir(out)).includes('intermediaries.png'));
  const summary = await readFile(join(out, 'summary.md'), 'utf8');
  assert.match(summary, new RegExp(`\\| ${technique.id} \\| strip-upgrade \\| broken \\|`));
});

test('--intermediary takes known names, values where they have one, and not with --chaos', () => {
  const parse = (value: string, ...more: string[]) => parseOptions(['--intermediary', value, ...more]);
  assert.deepEqual(
    parse('buffering=64,idle-cut=10,nginx')?.intermediaries.map((i) => [i.kind, i.value]),
    [
      ['buffering', 64],
      ['idle-cut', 10],
      ['nginx', null],
    ],
  );
  assert.deepEqual(
    parse('buffering,idle-cut')?.intermediaries.map((i) => i.value),
    [4, 60],
  );
  for (const bad of ['squid', 'strip-upgrade=3', 'idle-cut=0', 'buffering=lots', 'nginx,nginx']) {
    assert.throws(() => parse(bad), UsageError, bad);
  }
  assert.throws(() => parse('buffering', '--chaos'), UsageError);
});
