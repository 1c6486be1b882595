// The registry of techniques: every technique the lab serves, in the order the pages show
// them, one line each, with what it can do. This module is shared as it is: the server and
// the bench import it, and the pages load the very same file from /contract/techniques.js.
//
// Nothing else lists techniques. Each part of the lab finds a technique's code by its id:
//   server/transports/<id>.ts    exports `transport`: the endpoint /api/<id>
//   bench/drivers/<id>.ts        exports `driver`: its subscribers and its cost model
//   pages/clients/<id>.js        exports `Client`: the browser client the panel runs
//   pages/techniques/<id>.html   the page that explains it
// A registered technique missing one of these fails at startup and in the tests. The
// tests choose techniques by capability, never by name, and reach each one with the test
// client of its wire format (test/clients/).

/**
 * How a technique's messages look on the wire: the format module in `./formats/` that
 * encodes and parses it.
 * @typedef {'poll' | 'event-stream' | 'script-stream' | 'websocket' | 'ndjson'} WireFormat
 */

/**
 * What a technique does, in the terms the pages, the bench and the tests ask about.
 * @typedef {object} Capabilities
 * @property {boolean} pollsWhenIdle  the client keeps sending requests while nothing is published
 * @property {boolean} holdsRequest   the server keeps an HTTP response open while it waits (a long poll, a stream)
 * @property {boolean} streams        one response or connection carries many messages
 * @property {boolean} twoWay         the client publishes over the same connection it receives on
 * @property {boolean} upgrades       a client reaches it by an HTTP Upgrade, not a plain request
 */

/**
 * @typedef {object} Technique
 * @property {string} id              the URL `/api/<id>`, the stats key, the file names
 * @property {string} title           its name for people, short enough for a panel heading
 * @property {string} summary         what it is, in one line
 * @property {string} colour          its colour in every chart and panel (CSS colour)
 * @property {WireFormat} wire        how its messages look on the wire
 * @property {Readonly<Capabilities>} capabilities
 */

/** @type {Capabilities} */
const NONE = { pollsWhenIdle: false, holdsRequest: false, streams: false, twoWay: false, upgrades: false };

/**
 * One registry line: the capabilities not named are false.
 * @param {Omit<Technique, 'capabilities'>} technique @param {Partial<Capabilities>} capabilities
 * @returns {Readonly<Technique>}
 */
function technique(technique, capabilities) {
  return Object.freeze({ ...technique, capabilities: Object.freeze({ ...NONE, ...capabilities }) });
}

/** Every technique, in the order the pages and charts show them. */
// biome-ignore format: one line per technique, so that adding one is adding a line
export const techniques = Object.freeze([
  technique({ id: 'short-polling', title: 'Short polling', colour: '#c0392b', wire: 'poll', summary: 'the client asks every N ms "anything after cursor C?", and the server answers at once' }, { pollsWhenIdle: true }),
  technique({ id: 'long-polling', title: 'Long polling', colour: '#e67e22', wire: 'poll', summary: 'the client asks the same, and the server holds the request until there is something, or a timeout' }, { holdsRequest: true }),
  technique({ id: 'forever-iframe', title: 'Forever iframe', colour: '#8e44ad', wire: 'script-stream', summary: 'a hidden iframe whose HTML response never ends: the server writes one <script> per message' }, { holdsRequest: true, streams: true }),
  technique({ id: 'sse', title: 'SSE', colour: '#27ae60', wire: 'event-stream', summary: "Server-Sent Events: text/event-stream read by the browser's EventSource" }, { holdsRequest: true, streams: true }),
  technique({ id: 'fetch-stream', title: 'Fetch stream', colour: '#d63384', wire: 'ndjson', summary: 'one long response of NDJSON, one JSON message per line, read with fetch() and a ReadableStream' }, { holdsRequest: true, streams: true }),
  technique({ id: 'websocket', title: 'WebSocket', colour: '#2471a3', wire: 'websocket', summary: 'one upgraded connection, frames both ways' }, { streams: true, twoWay: true, upgrades: true }),
]);

/** The ids, in registry order. */
export const techniqueIds = Object.freeze(techniques.map((entry) => entry.id));

/**
 * The registered technique `id`, or undefined.
 * @param {string} id
 */
export function techniqueById(id) {
  return techniques.find((entry) => entry.id === id);
}

/**
 * The techniques that have every capability named true, and none named false: the way the
 * tests choose what a test applies to, e.g. `withCapabilities({ holdsRequest: true })`.
 * @param {Partial<Capabilities>} wanted
 */
export function withCapabilities(wanted) {
  return techniques.filter((entry) =>
    Object.entries(wanted).every(
      ([name, value]) => entry.capabilities[/** @type {keyof Capabilities} */ (name)] === value,
    ),
  );
}
