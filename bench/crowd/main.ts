/**
 * `npm run bench -- --crowd SIZES` from the command line: the estimate and progress on
 * stderr, the table on stdout (or results.json with --json), the files in --out. A run
 * that lost or repeated a delivery still writes its files, and exits 1.
 */
import { relative } from 'node:path';
import type { BenchOptions } from '../options.ts';
import { renderCrowd } from '../report/crowd.ts';
import { writeReport } from '../report/write.ts';
import { crowdPlans, runCrowdBench } from './bench.ts';
import type { CrowdOptions } from './options.ts';

/** Seconds a run takes besides publishing and its clients: processes started, warm-up, idle. */
const RUN_OVERHEAD_SEC = 6;
/**
 * Seconds per client to connect, drain and stop: 19 to 33 s a run at 10,000 clients on
 * 2 cores (SSE fastest, long polling and WebSocket slowest), publishing 10 s of it.
 */
const SEC_PER_CLIENT = 0.0015;

export async function crowdMain(options: BenchOptions & { crowd: CrowdOptions }): Promise<number> {
  const plans = crowdPlans(options);
  const estimateSec = plans.reduce(
    (sum, plan) => sum + RUN_OVERHEAD_SEC + plan.messages / plan.rate + plan.clients * SEC_PER_CLIENT,
    0,
  );
  process.stderr.write(
    `bench: crowd, ${plans.length} runs (${options.techniques.join(', ')}; ${options.crowd.sizes.join(', ')} clients in ${options.crowd.workers} workers; realtime-lab and the bare server each), about ${Math.max(1, Math.round(estimateSec / 60))} min\n`,
  );
  const result = await runCrowdBench(options, (line) => process.stderr.write(`${line}\n`));
  await writeReport(result, options.out);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`\n${renderCrowd(result) ?? ''}`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write(
      `\nwrote ${relative(process.cwd(), options.out) || '.'}/: open index.html, or read summary.md\n`,
    );
  }
  const failed = (result.crowd?.runs ?? []).filter((r) => r.lost > 0 || r.duplicates > 0);
  if (failed.length > 0) {
    process.stderr.write(
      `\nbench: failed: ${failed.map((r) => `${r.technique} on ${r.server} at ${r.clients}: ${r.lost} lost, ${r.duplicates} duplicated`).join('; ')}\n`,
    );
    return 1;
  }
  return 0;
}
