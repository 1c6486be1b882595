/**
 * What a reconnect storm measured, and the arithmetic from raw samples to figures: the
 * server's new requests per second over time (from its own /api/stats counters), and the
 * clients caught up over time (from each one's receipt of the marker message).
 */
import { round } from '../delivery.ts';
import type { ClientCpu } from '../workers/cpu.ts';

/** One reading of the restarted server's /api/stats for the technique. */
export interface StatsSample {
  /** When the answer arrived, ms since the old server was killed. */
  atMs: number;
  /** Requests the server has seen for the technique since it started (WebSocket upgrades included). */
  requests: number;
  /** Requests it holds open now: connected clients. */
  held: number;
}

/** New requests per second between two readings, and the clients held at the second. */
export interface RatePoint {
  atMs: number;
  perSecond: number;
  held: number;
}

export interface StormTrial {
  technique: string;
  /** True: the contract's jittered backoff; false: every client waits the base delay exactly. */
  jitter: boolean;
  clients: number;
  /** From the kill to the new server serving on the same port, ms (its process starting). */
  serverDownMs: number;
  /**
   * From the kill until every client caught up, or until the run's deadline if some never
   * did within it: the span of the request series and of the CPU figures, ms.
   */
  windowMs: number;
  /**
   * New requests per second the restarted server saw (its /api/stats `httpRequests` for the
   * technique, read every `sampleEveryMs`; a reading the busy server answered late covers
   * a longer interval, and its rate is that interval's mean).
   */
  connections: {
    source: 'server';
    sampleEveryMs: number;
    peakPerSecond: number;
    /** When the peak interval ended, ms since the kill. */
    peakAtMs: number;
    /** Requests the new server saw for the technique until every client caught up. */
    requestsSeen: number;
    /** Readings the server did not answer in time (20 s each): it was too busy to, or its accept queue full. */
    readingsFailed: number;
    series: RatePoint[];
  };
  /** Answers other than 200/101 the clients got after the cut (503: a cap, a full server). */
  refused: number;
  /** Connection attempts the clients made after their first connection ended (the cut, then every retry). */
  reconnectAttempts: number;
  /** Attempts beyond one per client: the ones that failed and were tried again. */
  retries: number;
  /**
   * Time from the kill until each client held the first message published after it (the
   * marker), on the server's clock: `clients` of them did within the run's deadline.
   */
  caughtUp: {
    clients: number;
    /** The first client's time: the sooner the server was back and a retry was due. */
    minMs: number | null;
    p50Ms: number | null;
    p90Ms: number | null;
    maxMs: number | null;
    /** Clients caught up by each time, ms since the kill. */
    series: { atMs: number; clients: number }[];
  };
  /**
   * Every message published through the publisher's node (which stays up) before the kill,
   * during (from the kill until every client caught up) and after, owed to every client
   * exactly once: `lost` and `duplicates` must be 0, `gapsReported` too.
   */
  messages: {
    publishedBefore: number;
    publishedDuring: number;
    publishedAfter: number;
    expected: number;
    delivered: number;
    lost: number;
    duplicates: number;
    outOfOrder: number;
    gapsReported: number;
  };
  /**
   * The client workers' CPU from the kill until every client caught up (null in the
   * bench's own process): a worker near a full core delays its clients' reconnects and
   * reads, and the times are then partly the bench's.
   */
  clientCpu: ClientCpu | null;
  /** The restarted server from its start until every client caught up: CPU time and share of one core, peak memory. */
  server: { cpuMs: number; cpuPercent: number; maxRssBytes: number } | null;
}

export interface StormResult {
  clients: number;
  /** Messages per second the publisher sent through the node that stays up. */
  rate: number;
  /** Worker processes the clients were spread over (0: the bench's own process). */
  workers: number;
  /** How long the run waited at most for every client to catch up, ms. */
  deadlineMs: number;
  trials: StormTrial[];
}

/** Rates between consecutive readings, the first from zero at `startedAtMs` (the new server's start). */
export function ratesOf(samples: readonly StatsSample[], startedAtMs: number): RatePoint[] {
  const points: RatePoint[] = [];
  let previous = { atMs: startedAtMs, requests: 0 };
  for (const sample of samples) {
    const spanMs = sample.atMs - previous.atMs;
    if (spanMs <= 0) continue;
    points.push({
      atMs: round(sample.atMs),
      perSecond: round(((sample.requests - previous.requests) * 1000) / spanMs),
      held: sample.held,
    });
    previous = sample;
  }
  return points;
}

/** The clients caught up by each `stepMs` from 0 to the last one's time (the curve the chart draws). */
export function caughtUpSeries(timesMs: readonly number[], stepMs: number): { atMs: number; clients: number }[] {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const last = sorted[sorted.length - 1];
  if (last === undefined) return [];
  const series: { atMs: number; clients: number }[] = [];
  let index = 0;
  for (let at = 0; ; at += stepMs) {
    while (index < sorted.length && (sorted[index] as number) <= at) index += 1;
    series.push({ atMs: at, clients: index });
    if (at >= last) break;
  }
  return series;
}

/** The nearest-rank percentile of `sorted` (ascending), or null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
}
