/**
 * What became of a technique behind an intermediary: delivered (as well as direct),
 * late (everything arrived, but the delays grew) or broken (something never arrived, or
 * the subscribers could not connect), judged against the same technique's direct run.
 * Also the first message's delay per subscriber, which a buffering intermediary hurts
 * most, and what the subscribers saw, in words, for the table and the chart.
 */
import type { DeliverySink, FeedMessage } from '../delivery.ts';
import type { TechniqueResult } from '../result.ts';
import type { IntermediaryFigures, IntermediarySpec } from './intermediaries.ts';

/** Late: the p90 delay more than this many times the direct run's … */
const LATE_FACTOR = 2;
/** … and more than this many ms above it (a 1 ms stream at 3 ms is not late). */
const LATE_MARGIN_MS = 50;

export type Verdict = 'delivered' | 'late' | 'broken';

/** One (technique, intermediary) in results.json. */
export interface IntermediaryResult {
  /** As named on the command line (`none` for the direct baseline). */
  name: string;
  verdict: Verdict;
  /** Why, in a few words: "all delivered", "p90 1.3 s, direct 2 ms", "426 × 10". */
  why: string;
  /** The median over subscribers of their first message's delay, ms (null when none arrived). */
  firstMessageDelayMs: number | null;
  /** The error that failed the subscribers' first connection, when one did. */
  connectError: string | null;
  figures: IntermediaryFigures;
}

/** Records each subscriber's first delay while passing everything on to `sink`. */
export class FirstDelays {
  readonly #first = new Map<number, number>();

  wrap(sink: DeliverySink, offset = 0): DeliverySink {
    return {
      record: (client: number, message: FeedMessage, delayMs: number, payloadBytes: number) => {
        if (!this.#first.has(offset + client)) this.#first.set(offset + client, delayMs);
        sink.record(client, message, delayMs, payloadBytes);
      },
      gap: (client: number, missed: number) => sink.gap(client, missed),
    };
  }

  median(): number | null {
    const sorted = [...this.#first.values()].sort((a, b) => a - b);
    if (sorted.length === 0) return null;
    return Math.round((sorted[Math.floor((sorted.length - 1) / 2)] ?? 0) * 1000) / 1000;
  }
}

/** The entry of one run, before it is judged against the direct run. */
export function intermediaryEntry(
  spec: IntermediarySpec,
  figures: IntermediaryFigures,
  first: FirstDelays,
  connectError: string | null,
): IntermediaryResult {
  return {
    name: spec.label,
    verdict: 'delivered',
    why: '',
    firstMessageDelayMs: first.median(),
    connectError,
    figures,
  };
}

/** Fills in every verdict of `results`, each against its technique's direct run (same clients and feed). */
export function judge(results: TechniqueResult[]): void {
  for (const result of results) {
    const entry = result.intermediary;
    if (!entry) continue;
    const direct = results.find(
      (r) =>
        r.intermediary?.name === 'none' &&
        r.technique === result.technique &&
        r.clients === result.clients &&
        r.feed === result.feed &&
        // The same kind of client over the same network: only the intermediary differs.
        (r.clientKind ?? 'node') === (result.clientKind ?? 'node') &&
        r.network?.rttMs === result.network?.rttMs,
    );
    Object.assign(entry, verdictOf(result, entry, direct ?? null));
  }
}

function verdictOf(
  r: TechniqueResult,
  entry: IntermediaryResult,
  direct: TechniqueResult | null,
): { verdict: Verdict; why: string } {
  const refused = Object.entries(entry.figures.statuses ?? {})
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, times]) => `${status} × ${times}`);
  const saw = [
    ...refused,
    r.subscriberErrors > 0 ? `${r.subscriberErrors} errors` : '',
    r.reconnects > 0 ? `${r.reconnects} reconnects` : '',
    entry.figures.idleCuts ? `${entry.figures.idleCuts} idle cuts` : '',
  ].filter(Boolean);
  const suffix = saw.length > 0 ? `; ${saw.join(', ')}` : '';
  if (r.messagesExpected === 0)
    return { verdict: entry.connectError ? 'broken' : 'delivered', why: `nothing published${suffix}` };
  if (entry.connectError || r.lost > 0) {
    const share = Math.floor((r.messagesDelivered / r.messagesExpected) * 100);
    return { verdict: 'broken', why: `${share}% delivered${suffix}` };
  }
  const p90 = r.latencyMs?.p90 ?? 0;
  const base = direct?.latencyMs?.p90 ?? null;
  if (base !== null && direct !== r && p90 > LATE_FACTOR * base && p90 > base + LATE_MARGIN_MS)
    return { verdict: 'late', why: `p90 ${delay(p90)}, direct ${delay(base)}${suffix}` };
  return { verdict: 'delivered', why: `all delivered, p90 ${delay(p90)}${suffix}` };
}

/** A delay for a cell: ms below a second, s above. */
export function delay(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}
