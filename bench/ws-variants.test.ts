/**
 * --ws-variants: a short real bench run of a technique that upgrades, once in plain JSON
 * and once with permessage-deflate (a fresh server with WS_PERMESSAGE_DEFLATE=1, a `ws`
 * client that offers the extension). The padded payload is compressible, so deflate must
 * put fewer bytes on the wire per message; the result must validate against the schema.
 * The msgpack variant needs the server's subprotocol (another part of issue 14), so it is
 * checked here only as an option.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { type Technique, withCapabilities } from '../server/contract/techniques.js';
import { UsageError, parseOptions } from './options.ts';
import type { BenchResult } from './result.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const UPGRADING = withCapabilities({ upgrades: true })[0] as Technique;
const NOT_UPGRADING = withCapabilities({ upgrades: false })[0] as Technique;

test('--ws-variants json,deflate runs an upgrading technique twice; deflate sends fewer bytes per message', async (t) => {
  assert.ok(UPGRADING && NOT_UPGRADING, 'the registry has a technique that upgrades and one that does not');
  const out = await mkdtemp(join(tmpdir(), 'realtime-lab-ws-variants-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const techniques = `${UPGRADING.id},${NOT_UPGRADING.id}`;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'bench/cli.ts', '--techniques', techniques, '--ws-variants', 'json,deflate'].concat([
      '--clients',
      '2',
      '--duration',
      '1',
      '--rate',
      '20',
      '--payload',
      '400',
      '--out',
      out,
      '--json',
    ]),
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 90_000 },
  );
  const result = JSON.parse(stdout) as BenchResult;

  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8')));
  assert.ok(validate(result), ajv.errorsText(validate.errors));

  assert.deepEqual(result.config.wsVariants, ['json', 'deflate']);
  // The technique that does not upgrade runs once, with no variant.
  assert.deepEqual(
    result.techniques.map((r) => [r.technique, r.wsVariant]),
    [
      [UPGRADING.id, 'json'],
      [UPGRADING.id, 'deflate'],
      [NOT_UPGRADING.id, undefined],
    ],
  );
  const [json, deflate] = result.techniques as [BenchResult['techniques'][0], BenchResult['techniques'][0]];
  for (const r of [json, deflate]) {
    assert.equal(r.lost, 0, `${r.wsVariant}: every message delivered`);
    assert.equal(r.subscriberErrors, 0, `${r.wsVariant}: no subscriber errors`);
    assert.equal(typeof r.server?.rssPerConnectionBytes?.afterDelivery, 'number');
  }
  assert.ok(
    (deflate.bytesPerMessage ?? Number.POSITIVE_INFINITY) < (json.bytesPerMessage ?? 0) / 2,
    `deflate ${deflate.bytesPerMessage} B/msg, json ${json.bytesPerMessage} B/msg`,
  );
  // No frame-header model for compressed frames: only JSON's is checked.
  assert.ok(json.theory.some((check) => check.metric === 'framingBytesPerMessage'));
  assert.ok(!deflate.theory.some((check) => check.metric === 'framingBytesPerMessage'));
  assert.match(await readFile(join(out, 'summary.md'), 'utf8'), new RegExp(`${UPGRADING.id} \\[deflate\\]`));
});

test('--ws-variants is checked: known names, once each, not with --intermediary, deflate not with --url', () => {
  assert.deepEqual(parseOptions([])?.wsVariants, ['json']);
  assert.deepEqual(parseOptions(['--ws-variants', 'msgpack,json'])?.wsVariants, ['msgpack', 'json']);
  assert.throws(() => parseOptions(['--ws-variants', 'gzip']), UsageError);
  assert.throws(() => parseOptions(['--ws-variants', 'json,json']), UsageError);
  assert.throws(() => parseOptions(['--ws-variants', 'json,deflate', '--intermediary', 'buffering']), UsageError);
  assert.throws(() => parseOptions(['--ws-variants', 'deflate', '--url', 'http://127.0.0.1:3000']), UsageError);
});
