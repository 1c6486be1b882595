/**
 * When a subscriber whose connection broke tries again: jittered exponential backoff, the
 * way the established clients do it (Socket.IO: 1 s doubling to 5 s, jitter 0.5), and the
 * same numbers as the demo page's clients. A connection that works resets the count.
 */

/** First retry after about this long, ms. */
export const RECONNECT_FIRST_MS = 1000;
/** Retries never wait longer than this, ms (before jitter). */
export const RECONNECT_MAX_MS = 5000;
/** Each wait is scaled by a random factor in [1 − JITTER, 1 + JITTER]. */
export const RECONNECT_JITTER = 0.5;

/** The wait before retry number `attempt` (0 for the first retry), ms. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt);
  return base * (1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * random());
}
