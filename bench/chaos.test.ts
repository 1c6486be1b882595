/**
 * The proof of "nothing lost": a bench run with --chaos, where a fault proxy between the
 * subscribers and the server cuts a connection every 500 ms (a reset, then a close, in
 * turn) while 2,000 messages are published. Every subscriber of every technique must end
 * with every message exactly once and in order, without ever falling out of history.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { techniqueById, techniqueIds } from '../server/contract/techniques.js';
import type { BenchResult } from './result.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('with connections cut at random, every technique delivers every message exactly once, in order', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'realtime-lab-chaos-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const args = [
    '--chaos',
    '--clients',
    '4',
    '--rate',
    '400',
    '--duration',
    '5',
    '--poll-interval',
    '200',
    '--out',
    out,
    '--json',
  ];
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  const result = JSON.parse(stdout) as BenchResult;
  assert.equal(result.config.chaos, true);
  assert.deepEqual(
    result.techniques.map((r) => r.technique),
    techniqueIds,
  );
  for (const r of result.techniques) {
    assert.equal(r.messagesPublished, 2000, r.technique);
    assert.ok((r.chaos?.cuts ?? 0) >= 5, `${r.technique}: only ${r.chaos?.cuts} cuts`);
    assert.deepEqual(
      {
        delivered: r.messagesDelivered,
        lost: r.lost,
        duplicates: r.duplicates,
        outOfOrder: r.outOfOrder,
        gaps: r.gapsReported,
      },
      { delivered: 2000 * 4, lost: 0, duplicates: 0, outOfOrder: 0, gaps: 0 },
      r.technique,
    );
    // The streams must have come back by themselves after being cut.
    if (techniqueById(r.technique)?.capabilities.streams)
      assert.ok(r.reconnects >= 3, `${r.technique}: ${r.reconnects} reconnects`);
  }
});
