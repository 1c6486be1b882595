/**
 * A --peers row measured over several rounds, as one row: each figure the median of its
 * rounds (a busy moment on a shared machine then moves one round of every row, not one
 * row's only reading), the delivery counts summed (a message lost in any round stays lost),
 * and each round's delay kept beside the medians (how far the rounds differ).
 */
import { type LatencySummary, round } from '../delivery.ts';
import type { IdleMemory } from '../result.ts';
import type { PeerRowResult } from './run.ts';

/** The median of `values` (the mean of the middle two for an even count); null when there are none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function medianOf<T>(rounds: readonly T[], figure: (round: T) => number | null | undefined): number | null {
  return median(rounds.map(figure).filter((value): value is number => typeof value === 'number'));
}

function latencyOf(rounds: readonly PeerRowResult[]): LatencySummary | null {
  const summaries = rounds.map((r) => r.latencyMs).filter((l): l is LatencySummary => l !== null);
  const first = summaries[0];
  if (first === undefined) return null;
  const at = (figure: (l: LatencySummary) => number) => medianOf(summaries, figure) as number;
  return {
    samples: summaries.reduce((sum, l) => sum + l.samples, 0),
    mean: at((l) => l.mean),
    p50: at((l) => l.p50),
    p90: at((l) => l.p90),
    p99: at((l) => l.p99),
    max: Math.max(...summaries.map((l) => l.max)),
    percentiles: first.percentiles.map((_, k) => at((l) => l.percentiles[k] as number)),
  };
}

function memoryOf(rounds: readonly PeerRowResult[]): IdleMemory | null {
  const readings = rounds.map((r) => r.memory).filter((m): m is IdleMemory => m !== null);
  const first = readings[0];
  if (first === undefined) return null;
  const at = (figure: (m: IdleMemory) => number) => Math.round(medianOf(readings, figure) as number);
  return {
    clients: first.clients,
    codeBeforeBytes: at((m) => m.codeBeforeBytes),
    codeConnectedBytes: at((m) => m.codeConnectedBytes),
    heldBeforeBytes: at((m) => m.heldBeforeBytes),
    heldConnectedBytes: at((m) => m.heldConnectedBytes),
    perConnectionBytes: at((m) => m.perConnectionBytes),
    rssBeforeBytes: at((m) => m.rssBeforeBytes),
    rssConnectedBytes: at((m) => m.rssConnectedBytes),
    rssPerConnectionBytes: at((m) => m.rssPerConnectionBytes),
  };
}

/** One row from its rounds (at least one, all of the same target). */
export function rowOfRounds(rounds: readonly PeerRowResult[]): PeerRowResult {
  const [first] = rounds;
  if (first === undefined) throw new Error('a row of no rounds');
  if (rounds.length === 1) return first;
  const sum = (figure: (r: PeerRowResult) => number) => rounds.reduce((total, r) => total + figure(r), 0);
  const rounded = (value: number | null) => (value === null ? null : round(value));
  return {
    ...first,
    messagesPublished: sum((r) => r.messagesPublished),
    messagesExpected: sum((r) => r.messagesExpected),
    messagesDelivered: sum((r) => r.messagesDelivered),
    lost: sum((r) => r.lost),
    duplicates: sum((r) => r.duplicates),
    outOfOrder: sum((r) => r.outOfOrder),
    errors: sum((r) => r.errors),
    reconnects: sum((r) => r.reconnects),
    wireBytesPerMessage: rounded(medianOf(rounds, (r) => r.wireBytesPerMessage)),
    latencyMs: latencyOf(rounds),
    cpuMs: rounded(medianOf(rounds, (r) => r.cpuMs)),
    cpuUsPerMessage: rounded(medianOf(rounds, (r) => r.cpuUsPerMessage)),
    memory: memoryOf(rounds),
    benchCpuPercent: rounded(medianOf(rounds, (r) => r.benchCpuPercent)) as number,
    // The same CPUs every round, unless the machine changed under the run: then each.
    serverCpus: [...new Set(rounds.map((r) => r.serverCpus ?? null))].join(' / ') || null,
    delayByRound: {
      p50Ms: rounds.map((r) => r.latencyMs?.p50 ?? null),
      p99Ms: rounds.map((r) => r.latencyMs?.p99 ?? null),
    },
  };
}
