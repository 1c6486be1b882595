// Which techniques a client that falls back tries, and in what order, and when it gives
// one up: all read from the registry's capabilities, so a technique added to the registry
// takes its place here without this file naming it (docs/fallback.md).
import { HEARTBEAT_MS, LONG_POLL_TIMEOUT_MS } from './defaults.js';

/** @import { Technique } from './techniques.js' */

/**
 * Failed connections in a row before a technique is given up: Pusher's client falls back
 * from WebSocket after two broken connections; one can be a blip, two are the network.
 */
export const FAILURES_BEFORE_FALLBACK = 2;

/**
 * How long an attempt may go without anything at all arriving (an open event, a cursor, a
 * message), ms, before it counts as held by the network: a fifth of the server's heartbeat
 * interval, 3 s. Every stream the server writes starts with its opening (the epoch) at
 * once, so a working one shows something after a connect and a round trip (the slowest
 * network profile's 600 ms round trip, a few times over); waiting a whole heartbeat
 * interval would only be needed if the opening could be silent, and a buffering proxy
 * holds the heartbeats too.
 */
export const FIRST_ARRIVAL_MS = HEARTBEAT_MS / 5;

/** The strategies: `fallback` tries the best first and steps down; `upgrade` starts low and probes up (Engine.IO). */
export const STRATEGIES = /** @type {const} */ (['fallback', 'upgrade']);
/** @typedef {typeof STRATEGIES[number]} Strategy */

/**
 * Whether a technique's page client can run beside the side-by-side page's own panel of
 * it: the script stream's server calls two fixed global names of the page
 * (SCRIPT_CALLBACKS), so one page holds one client of that format, and its panel has it.
 * It is no loss: a browser that has `fetch` streams or EventSource never needs the
 * forever iframe, and a frame hides every HTTP error, so only silence could fail it.
 * @param {Readonly<Technique>} technique
 */
export function canRunBesidePanels(technique) {
  return technique.wire !== 'script-stream';
}

/**
 * The fallback order: what upgrades or talks both ways (WebSocket), then the other streams
 * in registry order, then what holds a request without streaming (long polling), then
 * what polls when idle (short polling).
 * @param {readonly Readonly<Technique>[]} techniques
 * @returns {Readonly<Technique>[]}
 */
export function fallbackOrder(techniques) {
  const usable = techniques.filter(canRunBesidePanels);
  const upgrading = usable.filter(({ capabilities: c }) => c.upgrades || c.twoWay);
  const streams = usable.filter(({ capabilities: c }) => c.streams && !(c.upgrades || c.twoWay));
  const holding = usable.filter(({ capabilities: c }) => c.holdsRequest && !c.streams);
  const polling = usable.filter(({ capabilities: c }) => c.pollsWhenIdle);
  return [...upgrading, ...streams, ...holding, ...polling];
}

/**
 * The upgrade strategy's two techniques: the first that holds a request without streaming
 * (long polling: works through nearly anything, first message fast) and the first that
 * upgrades (WebSocket), probed beside it.
 * @param {readonly Readonly<Technique>[]} techniques
 */
export function upgradePair(techniques) {
  const start = techniques.find(({ capabilities: c }) => c.holdsRequest && !c.streams);
  const target = techniques.find(({ capabilities: c }) => c.upgrades);
  if (!start || !target) throw new Error('the registry has no long-polling-like technique or none that upgrades');
  return { start, target };
}

/**
 * How long an attempt at `technique` may stay silent before it is given up, ms. A request
 * held without streaming says nothing until a message comes or its hold runs out
 * (LONG_POLL_TIMEOUT_MS): only silence past that hold means it is held by the network.
 * @param {Readonly<Technique>} technique
 */
export function silenceDeadlineMs({ capabilities: c }) {
  return c.holdsRequest && !c.streams ? LONG_POLL_TIMEOUT_MS + FIRST_ARRIVAL_MS : FIRST_ARRIVAL_MS;
}

/**
 * How long the attempt carrying the feed may bring nothing before the client asks the
 * server how far the feed has got (its head, from /api/health), ms: the same 3 s as the
 * first arrival. On a busy feed a working stream is never silent that long, so the check
 * costs nothing there; on a quiet one it is one small request per interval.
 */
export const FOLLOW_CHECK_MS = FIRST_ARRIVAL_MS;

/**
 * How long, after the client learnt that the feed's head is past its cursor, the attempt
 * carrying the feed has to bring that message before it counts as held by the network
 * (a buffering intermediary), ms: FIRST_ARRIVAL_MS, or five round trips of the request
 * that read the head if that is longer. A working stream brings a message about half a
 * round trip after it is published, and the head read is at most that old, so a round
 * trip would do: five of them, and never under 3 s, keep a slow network (satellite's
 * 600 ms round trip: 3 s, five of them) or a busy machine from being judged buffered.
 * @param {number} roundTripMs  the round trip of the request that read the head
 */
export function followBoundMs(roundTripMs) {
  return Math.max(FIRST_ARRIVAL_MS, 5 * roundTripMs);
}

/**
 * Whether an attempt at `technique` is watched for following the feed's head once in
 * use: the ones that stream, whose bytes a buffering intermediary can hold after the
 * first lump came through. A held request without streaming is answered whole, and a
 * poll asks again by itself.
 * @param {Readonly<Technique>} technique
 */
export function mustFollowHead({ capabilities: c }) {
  return c.streams;
}
