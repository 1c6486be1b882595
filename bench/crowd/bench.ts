/**
 * `npm run bench -- --crowd 1000,2000,5000,10000`: the crowd run as a whole, in the shape
 * of results.json (its runs in `crowd.runs`, `techniques` empty). For each technique and
 * each number of clients, realtime-lab and then the bare broadcast server, each alone on
 * the machine, so the two stand side by side in the same run.
 */
import { techniques } from '../../server/contract/techniques.js';
import { machineAtStart, ownServersConfig } from '../machine.ts';
import type { BenchOptions } from '../options.ts';
import { type BenchResult, SCHEMA_VERSION } from '../result.ts';
import type { CrowdOptions } from './options.ts';
import { CROWD_SERVERS, type CrowdPlan, type CrowdRun, IDLE_MS, runCrowd } from './run.ts';

/** results.json's `crowd`: the sizes and workers asked for, and every run. */
export interface CrowdResult {
  sizes: number[];
  workers: number;
  /** Messages each run published, and at what rate. */
  messages: number;
  rate: number;
  idleMs: number;
  runs: CrowdRun[];
}

/** The plans of a crowd run, in the order they run: per technique, per size, realtime-lab then bare. */
export function crowdPlans(options: BenchOptions & { crowd: CrowdOptions }): CrowdPlan[] {
  const picked = options.techniques.map((id) => techniques.find((t) => t.id === id)).filter((t) => t !== undefined);
  const messages = Math.max(1, Math.round(options.rate * options.durationSec));
  return picked.flatMap((technique) =>
    options.crowd.sizes.flatMap((clients) =>
      CROWD_SERVERS.map((server) => ({
        technique,
        server,
        clients,
        workers: options.crowd.workers,
        messages,
        rate: options.rate,
        payloadBytes: options.payloadBytes,
        idleMs: options.crowd.idleMs ?? IDLE_MS,
      })),
    ),
  );
}

/** Runs every plan; `note` gets progress lines for stderr. */
export async function runCrowdBench(
  options: BenchOptions & { crowd: CrowdOptions },
  note: (line: string) => void = () => undefined,
): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const start = machineAtStart();
  const plans = crowdPlans(options);
  const runs: CrowdRun[] = [];
  for (const [index, plan] of plans.entries()) {
    note(`[${index + 1}/${plans.length}] ${plan.technique.id} on ${plan.server}, ${plan.clients} clients`);
    const run = await runCrowd(plan, (line) => note(`    ${line}`));
    runs.push(run);
    const l = run.latencyMs;
    note(
      `✓ ${run.technique} on ${run.server}, ${run.clients} clients: ${run.lost === 0 && run.duplicates === 0 ? `all ${run.messagesDelivered} delivered` : `${run.lost} lost, ${run.duplicates} duplicated`}, p50 ${l?.p50 ?? '–'} ms, p99 ${l?.p99 ?? '–'} ms, ${(run.memory.perConnectionBytes / 1000).toFixed(1)} kB per connection, ${run.cpu.perDeliveredMessageUs ?? '–'} µs CPU per message; clients ${Math.round(run.clientCpu.totalMs)} ms CPU in ${run.workers} workers (${run.clientCpu.workers.map((w) => `${Math.round(w.coreShare * 100)}%, loop p99 ${w.loopDelayP99Ms ?? '–'} ms`).join('; ')})`,
    );
    for (const warning of run.warnings) note(`warning: ${warning}`);
  }
  const warnings = runs.flatMap((r) => r.warnings);
  const busy = start.busyWarning('delays and CPU');
  if (busy) warnings.unshift(busy);
  const first = plans[0];
  return {
    schemaVersion: SCHEMA_VERSION,
    // One size is a number, as in any run of one client count (results.schema.json: a list
    // is a sweep of two counts or more).
    config: ownServersConfig(options, {
      scenario: 'crowd',
      techniques: options.techniques,
      clients: options.crowd.sizes.length === 1 ? (options.crowd.sizes[0] as number) : options.crowd.sizes,
    }),
    environment: {
      ...start.machine,
      autocannon: 'the publisher, and the long pollers inside the client workers',
      server:
        'per run a fresh process on 127.0.0.1: realtime-lab (server/main.ts, MAX_CONNECTIONS_PER_ADDRESS and MAX_CONNECTIONS_PER_TECHNIQUE raised to the clients) or the bare broadcast server (bench/bare/main.ts)',
      redis: null,
      startedAt,
      finishedAt: new Date().toISOString(),
    },
    techniques: [],
    backplane: null,
    crowd: {
      sizes: options.crowd.sizes,
      workers: options.crowd.workers,
      messages: first?.messages ?? 0,
      rate: options.rate,
      idleMs: options.crowd.idleMs ?? IDLE_MS,
      runs,
    },
    warnings,
  };
}
