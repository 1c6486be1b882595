/**
 * What one strategy case cost, from its clients' own reports (pages/auto/auto-client.js's
 * `report()`, whose bytes are the server's per-client counts) and the bench's own check of
 * every published id against what each client showed.
 */
import type { BlockSet, Strategy } from './cases.ts';

/** One attempt of one client, as the bench page reports it; times from the client's start, ms. */
export interface StrategyAttempt {
  technique: string;
  outcome: string;
  reason: string;
  startedMs: number | null;
  arrivedMs: number | null;
  endedMs: number | null;
  /** What the server counted for this client and technique, both ways, headers included. */
  bytes: number;
}

/** One client's report (pages/bench/auto.js `benchAutoReport`). */
export interface StrategyClientReport {
  inUse: string | null;
  connectedMs: number | null;
  firstMessageMs: number | null;
  received: number;
  delayed: number;
  lost: number;
  duplicates: number;
  failedBytes: number;
  attempts: StrategyAttempt[];
}

/** A median and a maximum over a case's clients; null when a client never got there. */
export interface Spread {
  p50: number;
  max: number;
}

export interface StrategyCaseResult {
  strategy: Strategy;
  /** `fallback, websocket=refuse`. */
  label: string;
  /** What was refused or buffered for each client: technique id → mode. */
  blocks: BlockSet;
  clients: number;
  messagesPublished: number;
  /** Published × clients: every message is owed to every client. */
  messagesExpected: number;
  /** Distinct (client, id) pairs the bench saw shown. */
  messagesDelivered: number;
  /**
   * Owed and not shown by the settle deadline (SETTLE_MS after the last publish), by the
   * bench's count (must be 0), and by the clients' own (the gaps they saw in the ids).
   */
  lost: number;
  clientsReportedLost: number;
  /** Shown by an attempt that began after they were published: they waited for a switch. */
  delayed: number;
  /** Brought again by a second attempt and dropped by the client (never shown twice). */
  duplicatesDropped: number;
  /** Shown twice (must be 0). */
  duplicatesShown: number;
  /** From start to the first thing arriving through the technique that carried the feed; to the first message shown. */
  connectedMs: Spread | null;
  firstMessageMs: Spread | null;
  /** Bytes of the techniques given up, per client: median, max, and over all clients. */
  failedBytes: Spread & { total: number };
  /** Where the clients ended: technique id → clients (`none` when a client carried nothing). */
  landedOn: Record<string, number>;
  /** Each client's report. */
  perClient: StrategyClientReport[];
}

/** `results.json`'s `strategies`: the auto client's strategies, each under each block set. */
export interface StrategiesResult {
  clients: number;
  rate: number;
  durationSec: number;
  /** How long the bench waited after publishing for every client to show everything, at most, ms. */
  settleMs: number;
  cases: StrategyCaseResult[];
}

/** The median (nearest rank) and the maximum; null if any value is missing. */
export function spread(values: readonly (number | null)[]): Spread | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  const sorted = (values as number[]).toSorted((a, b) => a - b);
  return { p50: sorted[Math.ceil(sorted.length / 2) - 1] as number, max: sorted[sorted.length - 1] as number };
}

/** The case's figures from its clients' reports and the bench's delivery count. */
export function caseFigures(
  c: { strategy: Strategy; blocks: BlockSet; label: string },
  reports: StrategyClientReport[],
  delivery: { published: number; delivered: number; shownTwice: number },
): StrategyCaseResult {
  const clients = reports.length;
  const landedOn: Record<string, number> = {};
  for (const r of reports) landedOn[r.inUse ?? 'none'] = (landedOn[r.inUse ?? 'none'] ?? 0) + 1;
  const failed = reports.map((r) => r.failedBytes);
  const sum = (pick: (r: StrategyClientReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  return {
    strategy: c.strategy,
    label: c.label,
    blocks: c.blocks,
    clients,
    messagesPublished: delivery.published,
    messagesExpected: delivery.published * clients,
    messagesDelivered: delivery.delivered,
    lost: Math.max(0, delivery.published * clients - delivery.delivered),
    clientsReportedLost: sum((r) => r.lost),
    delayed: sum((r) => r.delayed),
    duplicatesDropped: sum((r) => r.duplicates),
    duplicatesShown: delivery.shownTwice,
    connectedMs: spread(reports.map((r) => r.connectedMs)),
    firstMessageMs: spread(reports.map((r) => r.firstMessageMs)),
    failedBytes: { ...(spread(failed) ?? { p50: 0, max: 0 }), total: failed.reduce((a, b) => a + b, 0) },
    landedOn,
    perClient: reports,
  };
}

/** Why the strategies run failed its delivery check, or null: anything lost or shown twice. */
export function deliveryFailure(result: StrategiesResult): string | null {
  const bad = result.cases.filter((c) => c.lost > 0 || c.clientsReportedLost > 0 || c.duplicatesShown > 0);
  if (bad.length === 0) return null;
  return bad
    .map(
      (c) =>
        `${c.label}: ${c.lost} lost by the bench's count (${c.clientsReportedLost} by the clients'), ${c.duplicatesShown} shown twice`,
    )
    .join('; ');
}
