/**
 * The numbers docs/guarantees.md promises, each in one place. The tests that prove a
 * promise import its number from here instead of writing their own literal, and
 * test/docs.test.ts checks that docs/guarantees.md states exactly these values and names
 * a test file that imports each one, so the page and the tests cannot drift apart.
 *
 * Each is the bound a test asserts, on a shared machine; what the machine usually does
 * (much less) is said in the docs as an observation, not promised.
 */

/** 1,000 hung-up long polls, SSE streams or iframes leave no listener or timer within this long, ms. */
export const HANGUP_CLEANUP_MAX_MS = 5000;

/**
 * A WebSocket peer that vanished without FIN or RST is dropped within this many heartbeat
 * intervals. The design drops it at the second (its ping missed); the rest is room for a
 * busy machine. TCP alone would take minutes.
 */
export const DEAD_PEER_MAX_HEARTBEATS = 5;

/** A streaming client that reads nothing while 40 MB are published at it grows the process by less than this, bytes. */
export const SLOW_CONSUMER_MAX_GROWTH_BYTES = 64 * 1024 * 1024;

/** Any mix of unread polling requests from one address grows the server process by at most this, bytes. */
export const UNREAD_POLLING_MAX_GROWTH_BYTES = 64 * 1024 * 1024;

/**
 * While those unread answers are held, 9 health checks in 10 from another address answer
 * within this long, ms. The machine's two cores are shared: even an idle server's health
 * check takes 50 ms now and then, so the bound is held by nine in ten.
 */
export const HEALTH_P90_MAX_MS = 100;

/** ...and every health check answers within this long, ms. */
export const HEALTH_MAX_MS = 1000;

/**
 * The one health check asked at the very instant the attack's 49 connections arrive
 * answers within this long, ms: Node accepts one connection per turn of its event loop,
 * so it waits in the accept queue behind all of them.
 */
export const BURST_HEALTH_MAX_MS = 2000;

/** A node's health turns 503 within this long of its Redis no longer answering (SIGSTOP), ms. */
export const REDIS_UNHEALTHY_WITHIN_MS = 3000;

/** ...and 200 again within this long of Redis answering again (SIGCONT), ms. */
export const REDIS_HEALTHY_AGAIN_WITHIN_MS = 5000;

/**
 * Once a node knows its Redis is away, a publish is refused within this long, ms: far
 * below the 1 s publish deadline and the 2 s command timeout, so it did not wait for Redis.
 */
export const FAST_REFUSAL_MAX_MS = 500;

/** SSE clients, and as many WebSocket clients, connected when the shutdown is timed. */
export const SHUTDOWN_LOAD_CLIENTS = 3000;

/** With SHUTDOWN_LOAD_CLIENTS of each connected, the process is gone within this long of SIGTERM, ms. */
export const SHUTDOWN_MAX_MS = 2000;

/**
 * A WebSocket peer that never answers its close frame does not hold the shutdown: the
 * process is gone within this long of SIGTERM, ms (waiting for the peer would cost the
 * close-frame grace, a second).
 */
export const SHUTDOWN_SILENT_PEER_MAX_MS = 1000;
