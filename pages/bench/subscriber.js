// One bench subscriber in a real browser: the side-by-side page's own client of one
// technique, loaded by id from /clients/<id>.js like a panel's, reporting each message
// it receives to the bench. Settings come in the fragment (#technique=…&client=…), which
// the browser never sends: the requests look like the demo page's, not like a test's.
//
// The delay is measured here, in the page, the way the side-by-side page measures it:
// the server's clock is estimated NTP-style against /api/health, and each message's `ts`
// is compared with performance.timeOrigin + performance.now() corrected by that offset.
// Reports go to `window.benchReport`, a function the bench exposes (playwright's
// exposeFunction), batched so that reporting costs the browser little.
//
// The page loads, estimates the clock, and then waits: `window.benchLoaded` resolves when
// it is ready, and the bench calls `window.benchStart()` on every page at once, so that
// the clients connect together, as the bench's Node clients do, and loading pages does
// not overlap with receiving.
import { techniques } from '/contract/techniques.js';
import { FeedClient } from '../clients/client.js';

/** @import { ControlEvent, Message } from '/contract/feed.js' */

/**
 * What the page tells the bench.
 * @typedef {{ kind: 'message', id: number, ts: number, author: string, bytes: number, delayMs: number }
 *   | { kind: 'gap', missed: number }
 *   | { kind: 'state', state: string }
 *   | { kind: 'reconnect' }
 *   | { kind: 'clock', offsetMs: number, uncertaintyMs: number }
 *   | { kind: 'failed', reason: string }} Report
 */

/** How long reports wait to be sent together, ms: the delay is taken at receipt, not here. */
const REPORT_EVERY_MS = 50;
/**
 * Samples of the server's clock, a pause apart; the one with the shortest round trip wins.
 * A browser's fetch on a busy 2-core machine takes from 1 to 20 ms: more samples, spread
 * out, find a quiet moment.
 */
const CLOCK_SAMPLES = 30;
const CLOCK_PAUSE_MS = 10;

const settings = new URLSearchParams(location.hash.slice(1));
const stateOutput = /** @type {HTMLElement} */ (document.getElementById('state'));
const bytesOf = new TextEncoder();

/** @type {Report[]} */
let pending = [];
let flushScheduled = false;

/** @param {Report} report */
function report(report) {
  pending.push(report);
  if (flushScheduled) return;
  flushScheduled = true;
  setTimeout(flush, REPORT_EVERY_MS);
}

function flush() {
  flushScheduled = false;
  const batch = pending;
  pending = [];
  const send = /** @type {{ benchReport?: (batch: Report[]) => Promise<void> }} */ (/** @type {unknown} */ (window))
    .benchReport;
  if (batch.length > 0 && send) void send(batch);
}

/** Epoch ms now, with the precision of performance.now(). */
function epochNow() {
  return performance.timeOrigin + performance.now();
}

/** Server clock minus this page's, and how far off that can be (half the best round trip). */
async function estimateClock() {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < CLOCK_SAMPLES; i += 1) {
    const sent = epochNow();
    const response = await fetch('/api/health', { cache: 'no-store' });
    const { now } = await response.json();
    const received = epochNow();
    const rtt = received - sent;
    if (rtt < best.rtt) best = { rtt, offset: now - (sent + received) / 2 };
    await new Promise((resolve) => setTimeout(resolve, CLOCK_PAUSE_MS));
  }
  return { offsetMs: best.offset, uncertaintyMs: best.rtt / 2 };
}

/** @param {string} name */
function required(name) {
  const value = settings.get(name);
  if (value === null || value === '') throw new Error(`the fragment has no ${name}`);
  return value;
}

/** Loads the client and estimates the clock; resolves with the function that starts it. */
async function load() {
  const id = required('technique');
  const technique = techniques.find((entry) => entry.id === id);
  if (!technique) throw new Error(`no technique ${JSON.stringify(id)} in the registry`);
  const module = await import(`/clients/${technique.id}.js`);
  if (!(module.Client?.prototype instanceof FeedClient)) throw new Error(`/clients/${id}.js exports no Client`);
  /** @type {typeof FeedClient} */
  const Client = module.Client;
  const clock = await estimateClock();
  report({ kind: 'clock', ...clock });

  // Every receipt is reported before the client's own check drops what it has already
  // shown, so that the bench sees duplicates on the wire as it does with Node clients.
  class Subscriber extends Client {
    /** @param {Message} message */
    receive(message) {
      const delayMs = epochNow() + clock.offsetMs - message.ts;
      report({
        kind: 'message',
        id: message.id,
        ts: message.ts,
        author: message.author,
        bytes: bytesOf.encode(JSON.stringify(message)).length,
        delayMs,
      });
      super.receive(message);
    }

    /** @param {ControlEvent} event */
    control(event) {
      if (event.type === 'gap') report({ kind: 'gap', missed: event.missed });
      super.control(event);
    }

    connect() {
      // A connect while open is a reopening (the server ended the stream on purpose);
      // one after CONNECTING is the backoff's retry, already counted by the state.
      if (this.state === 'OPEN') report({ kind: 'reconnect' });
      super.connect();
    }
  }

  let everOpen = false;
  const client = new Subscriber({
    technique,
    clientId: required('client'),
    onState: (state) => {
      stateOutput.textContent = state;
      if (state === 'CONNECTING' && everOpen) report({ kind: 'reconnect' });
      if (state === 'OPEN') everOpen = true;
      report({ kind: 'state', state });
    },
  });
  client.intervalMs = Number(settings.get('interval') ?? client.intervalMs);
  client.epoch = settings.get('epoch') || undefined;
  Object.assign(window, {
    // The bench hangs up as a user leaving would: the client's own close (a WebSocket's
    // close frame), then the page goes.
    benchClose: () => {
      client.close();
      flush();
    },
  });
  return () => client.open(Number(required('since')));
}

const loaded = load();
Object.assign(window, {
  benchLoaded: loaded.then(() => undefined),
  benchStart: () => loaded.then((start) => start()),
});
loaded.catch((error) => {
  stateOutput.textContent = `failed: ${error.message}`;
  report({ kind: 'failed', reason: String(error.message) });
  flush();
});
