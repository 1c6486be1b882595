/**
 * The numbers docs/browser-delays.md states as bounds, each in one place:
 * pages/browser-delays.test.ts asserts them and checks that the doc states these very
 * values. Each is a bound for a shared two-core machine; what it usually does (much less)
 * the doc gives as observations.
 */

/** Alone in a browser, SSE's, the iframe's and WebSocket's median delay stays under this, ms. */
export const STREAM_ALONE_MAX_MS = 8;

/**
 * Alone in a browser, SSE's median delay is at most this many times WebSocket's (alone in
 * another, in the same run), plus STREAM_ALONE_SLACK_MS: the same order, not the 3–5× of
 * the side-by-side page.
 */
export const SSE_ALONE_MAX_RATIO = 2;

/** ...plus this, ms: two browsers on a busy machine differ by that much. */
export const STREAM_ALONE_SLACK_MS = 2;

/**
 * In the side-by-side page's mix, the server has written each message to every client
 * but the short poller within this long of accepting it, median, ms: the time is not
 * spent in the server.
 */
export const SERVER_WRITE_MAX_MS = 3;

/** EventSource runs the page's handler within this long of the renderer taking the bytes, median, ms. */
export const EVENTSOURCE_DISPATCH_MAX_MS = 1;

/**
 * The page's clock estimate is off by at most half its best round trip (same host, so the
 * true offset is 0), plus this for the two clocks' rounding, ms.
 */
export const CLOCK_ROUNDING_MS = 0.5;

/**
 * ...and by at most this, ms, once sampled again with the clients open: the estimate the
 * side-by-side page made at load was off by up to 3.8 ms on this machine.
 */
export const CLOCK_ERROR_MAX_MS = 2;
