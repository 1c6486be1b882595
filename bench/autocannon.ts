/**
 * autocannon, used for what it fits here: many HTTP/1.1 keep-alive connections making
 * requests one after another, with per-connection state (a cursor) and its own latency
 * histogram. Two gaps are filled in this file:
 *
 * - autocannon's rate limit releases a connection's whole per-second quota at the start
 *   of each second, and all connections in the same instant (FACTS.md; `httpClient.js`
 *   `reqsMadeThisSecond`). It cannot express "every 250 ms" or "every 2 s", and 100
 *   pollers at 1/s arrive as one burst. `paced` instead gives each connection its own
 *   fixed grid of send times, with phases spread evenly over the interval, like
 *   independent clients. It wraps the client's `_doRequest`, the one internal this file
 *   touches; `checkPacingSupport` fails loudly if a new autocannon renames it.
 * - autocannon resets a connection's `context` whenever its request list starts over
 *   (`requestIterator.js`), so a one-request list cannot keep a cursor there. Each
 *   connection gets its own request object instead (`client.setRequests`, public API),
 *   whose closures hold the cursor.
 */
import autocannon from 'autocannon';

export type AutocannonClient = autocannon.Client;
export type AutocannonResult = autocannon.Result;

interface PacedInternals {
  _doRequest?: () => void;
  destroyed?: boolean;
  reqsMade?: number;
  responseMax?: number;
}

/** Throws a clear error if autocannon no longer has the internal `paced` wraps. */
export function checkPacingSupport(client: AutocannonClient): void {
  if (typeof (client as unknown as PacedInternals)._doRequest !== 'function') {
    throw new Error(
      'this autocannon version has no Client#_doRequest: bench/autocannon.ts must be updated to pace requests',
    );
  }
}

/** A send this late for its slot, ms, still goes out; later than that waits for the next slot. */
const LATE_OK_MS = 5;

/**
 * Makes `client` send one request per `intervalMs`, on a fixed grid starting at
 * `firstAt` (a `performance.now()` time). A response that comes back late does not make
 * the client catch up with a burst: it waits for the next slot. At most one send waits
 * at a time, so with `pipelining: 1` a connection has one request in flight, reconnects
 * included. Once `stopped()` returns true, no request is sent (autocannon itself only
 * stops at its next sample tick). While `askNow()` returns true (a poller's answer said
 * `more`), the next request goes at once, off the grid.
 */
export function paced(
  client: AutocannonClient,
  intervalMs: number,
  firstAt: number,
  stopped: () => boolean = () => false,
  askNow: () => boolean = () => false,
): void {
  checkPacingSupport(client);
  const internals = client as unknown as PacedInternals;
  const send = (internals._doRequest as () => void).bind(client);
  let slot = firstAt;
  let sendScheduled = false;
  internals._doRequest = () => {
    if (internals.destroyed || stopped()) return;
    // The last response is in: let autocannon finish this connection at once.
    if (internals.responseMax && (internals.reqsMade ?? 0) >= internals.responseMax) return send();
    // autocannon asks for a request again when it reconnects a cut connection, to replace
    // the one it assumes was lost there. If a send is already waiting for its slot, no
    // request was in flight: a second send would put two in flight, both built from the
    // same per-connection state (a poller's cursor), and one answer would repeat the other.
    if (sendScheduled) return;
    if (askNow()) return send();
    const now = performance.now();
    if (now - slot > LATE_OK_MS) slot = firstAt + Math.ceil((now - firstAt) / intervalMs) * intervalMs;
    const wait = Math.max(0, slot - now);
    slot += intervalMs;
    sendScheduled = true;
    setTimeout(() => {
      sendScheduled = false;
      if (!internals.destroyed && !stopped()) send();
    }, wait);
  };
}

/** The figures of an autocannon result that go into results.json. */
export function figuresOf(result: AutocannonResult): {
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
} {
  const latency = result.latency as unknown as Record<string, number>;
  return {
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    latencyMs: {
      mean: latency.average ?? 0,
      p50: latency.p50 ?? 0,
      p90: latency.p90 ?? 0,
      p99: latency.p99 ?? 0,
      max: latency.max ?? 0,
    },
  };
}

/** Starts an autocannon instance; `done` resolves with its result when it stops. */
export function start(options: autocannon.Options): { instance: autocannon.Instance; done: Promise<AutocannonResult> } {
  let instance!: autocannon.Instance;
  const done = new Promise<AutocannonResult>((resolve, reject) => {
    // `stop()` takes effect at the next sample tick: every 100 ms rather than every second.
    instance = autocannon({ sampleInt: 100, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
  });
  return { instance, done };
}
