/**
 * What misbehaving clients did, counted for `/api/stats` (`"abuse"`), and how it is logged.
 *
 * A client that breaks the rules is the client's fault, not the server's: each event is
 * logged at debug level (LOG_LEVEL=debug shows them), without a stack trace, and at most
 * one warn line per ABUSE_WARN_INTERVAL_MS sums them up. So a flood of bad frames costs
 * the log one line a minute, however fast it comes, and the counters say how much.
 */
import type { FastifyBaseLogger } from 'fastify';

/** The counters of `/api/stats` → `abuse`. */
export interface AbuseCounts {
  /** WebSocket connections ws closed for breaking the protocol (1002, 1007, 1009, or its own 1008 for too many fragments). */
  websocketProtocolErrors: number;
  /** WebSocket connections this server closed with 1008: too many bad frames in a row, or too many pings. */
  websocketPolicyCloses: number;
  /** Publishes refused for going over the client's rate: HTTP 429s and WebSocket error frames together. */
  rateLimitedPublishes: number;
}

export type AbuseKind = keyof AbuseCounts;

/** Shortest time between two warn lines about abuse, ms. */
export const ABUSE_WARN_INTERVAL_MS = 60_000;

export class AbuseMeter {
  readonly #counts: AbuseCounts = { websocketProtocolErrors: 0, websocketPolicyCloses: 0, rateLimitedPublishes: 0 };
  readonly #now: () => number;
  #quietUntil = -Infinity;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Counts one event without logging it (a 429 is already in the request log). */
  count(kind: AbuseKind): void {
    this.#counts[kind] += 1;
  }

  /**
   * Counts one event and logs it: `details` at debug, and the totals at warn when no warn
   * line was written in the last ABUSE_WARN_INTERVAL_MS.
   */
  report(kind: AbuseKind, log: FastifyBaseLogger, details: Record<string, unknown>, message: string): void {
    this.count(kind);
    log.debug({ abuse: kind, ...details }, message);
    const now = this.#now();
    if (now < this.#quietUntil) return;
    this.#quietUntil = now + ABUSE_WARN_INTERVAL_MS;
    log.warn(
      { abuse: this.snapshot() },
      `clients are misbehaving (latest: ${message}); each event is logged at debug level and counted in /api/stats, and this line comes at most once a minute`,
    );
  }

  snapshot(): AbuseCounts {
    return { ...this.#counts };
  }
}
