// The vocabulary every technique speaks, whatever its wire format: the message, the
// control events, the cursor and its epoch, and what a parser finds on the wire. Shared as
// it is by the server, the bench, the tests and the pages (/contract/feed.js).

/**
 * A message as stored in the feed and delivered by every technique: the *payload*.
 * @typedef {object} Message
 * @property {number} id      position in the feed: 1 for the first message, +1 for each one after; also the cursor
 * @property {number} ts      server clock when the message was accepted, epoch ms with sub-millisecond precision
 * @property {string} author
 * @property {string} text
 */

/**
 * What a client sends to publish.
 * @typedef {{ author: string, text: string }} PublishInput
 */

/**
 * Why the server ends a response or connection: its byte limit (the forever iframe),
 * shutdown, or a client that stopped reading.
 * @typedef {'limit' | 'shutdown' | 'slow'} EndReason
 */

/**
 * What a client is told besides messages. Every technique carries these the same way.
 * - `epoch`: first on every stream: the epoch of the feed served, which goes with every cursor.
 * - `gap`: the cursor was older than the history: `missed` messages can never be delivered.
 * - `reset`: the cursor was of another feed (another epoch, or ahead of this feed: the
 *   server restarted): the client takes `epoch` as its own, and the history follows from id 1
 *   or the oldest kept.
 * - `end`: the server ends this response or connection; reconnect with `epoch` and `cursor`.
 * @typedef {{ type: 'epoch', epoch: string } | { type: 'gap', missed: number } | { type: 'reset', epoch: string }
 *   | { type: 'end', epoch: string, cursor: number, reason: EndReason }} ControlEvent
 */

/**
 * What a wire-format parser finds: a message, as the exact JSON the server wrote for it
 * (its payload, whose bytes the bench counts), or a control event. A parser that had to
 * read a message's JSON (a WebSocket frame, a poll answer, an iframe's script call) gives the
 * message too, so that nobody parses it twice: read it with `messageOf`.
 * @typedef {{ kind: 'message', json: string, message?: Message } | { kind: 'control', event: ControlEvent }} FeedItem
 */

/**
 * The message a parser found: the one it already read, or its JSON read now.
 * @param {{ json: string, message?: Message }} item
 * @returns {Message}
 */
export function messageOf(item) {
  return item.message ?? JSON.parse(item.json);
}

/** The control event types, in the order a stream can carry them. */
export const CONTROL_TYPES = Object.freeze(/** @type {const} */ (['epoch', 'gap', 'reset', 'end']));

/** Longest author, in characters (Unicode code points). */
export const MAX_AUTHOR_CHARS = 32;
/** Longest `ref` a WebSocket publish frame may carry for its ack to echo, in characters (code points). */
export const MAX_REF_CHARS = 64;

// Wider than the 6 characters this server makes, so a feed with longer names (another
// server, a later version) is still told apart rather than refused.
const EPOCH_PATTERN = /^[0-9a-z]{1,16}$/;

/**
 * Whether `value` can be an epoch: 1 to 16 characters of [0-9a-z]. Nothing in it needs
 * escaping in JSON, an SSE field, a URL or a script.
 * @param {unknown} value
 * @returns {value is string}
 */
export function isEpoch(value) {
  return typeof value === 'string' && EPOCH_PATTERN.test(value);
}

/**
 * The query string that asks a technique for what follows a cursor: `since`, the epoch it
 * counts in (when known; a bare `since` is taken as the current feed's) and the client id.
 * @param {{ cursor?: number, epoch?: string, client?: string }} position
 * @returns {string} without the leading `?`; '' when there is nothing to say
 */
export function cursorQuery({ cursor, epoch, client }) {
  const params = new URLSearchParams();
  if (cursor !== undefined) params.set('since', String(cursor));
  if (cursor !== undefined && epoch !== undefined) params.set('epoch', epoch);
  if (client !== undefined) params.set('client', client);
  return params.toString();
}

const encoder = new TextEncoder();

/**
 * Bytes of `text` in UTF-8, in a browser as in Node.
 * @param {string} text
 */
export function utf8Bytes(text) {
  return encoder.encode(text).length;
}

/**
 * The author of the server's own messages in the feed: "ada joined (sse)", "ada left
 * (sse): not seen for 5.2 s". Empty, which no publish may use (an author is 1 to
 * MAX_AUTHOR_CHARS characters), so nobody can speak in the server's name.
 */
export const SYSTEM_AUTHOR = '';
