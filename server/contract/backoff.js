// When a client whose connection broke tries again: jittered exponential backoff, the way
// the established clients do it (Socket.IO: 1 s doubling to 5 s, jitter 0.5). One source
// for the demo pages' clients and the bench's subscribers. A connection that works resets
// the count.

/** First retry after about this long, ms. */
export const RECONNECT_FIRST_MS = 1000;
/** Retries never wait longer than this, ms (before jitter). */
export const RECONNECT_MAX_MS = 5000;
/** Each wait is scaled by a random factor in [1 − JITTER, 1 + JITTER]. */
export const RECONNECT_JITTER = 0.5;

/**
 * The wait before retry number `attempt` (0 for the first retry), ms.
 * @param {number} attempt @param {() => number} [random] a source of [0, 1), Math.random by default
 */
export function reconnectDelay(attempt, random = Math.random) {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt);
  return base * (1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * random());
}
