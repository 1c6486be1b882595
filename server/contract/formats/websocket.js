// WebSocket frames, in one of two subprotocols with the same objects: JSON text frames
// (realtime-lab.v1.json, also what a client that offers none gets) or MessagePack binary
// frames (realtime-lab.v1.msgpack).
// Server to client: a message is its JSON (`{"id","ts","author","text"}`); every other
// frame has a `type`: `epoch` (the first frame), `gap`, `reset`, `end` (the control
// events), `ack` and `error` (answers to a publish, echoing its `ref`).
// Client to server: `{"type":"publish","author","text"}`, with an optional `ref` string.

import { decode, encode } from '../msgpack.js';

/** @import { ControlEvent, FeedItem, Message } from '../feed.js' */

/**
 * The subprotocols the WebSocket endpoint speaks (`Sec-WebSocket-Protocol`), named in the
 * style of `wamp.2.json` / `wamp.2.msgpack`: the lab, the version of its frames, the encoding.
 */
export const SUBPROTOCOLS = Object.freeze({
  /** JSON text frames: the default, when a client offers no subprotocol. */
  json: 'realtime-lab.v1.json',
  /** MessagePack binary frames: the same objects as the JSON frames. */
  msgpack: 'realtime-lab.v1.msgpack',
});

/** @typedef {typeof SUBPROTOCOLS[keyof typeof SUBPROTOCOLS]} Subprotocol */

/** Every subprotocol spoken, in the server's order. */
export const SPOKEN_SUBPROTOCOLS = Object.freeze(Object.values(SUBPROTOCOLS));

/**
 * The subprotocol the server picks from a client's offers: the first offered that it
 * speaks (the client's order, as RFC 6455 §4.2.2 lets the server choose), JSON when none
 * is offered, and undefined when some are offered and none is spoken: a refusal, never a
 * silent pick.
 * @param {readonly string[]} offers
 * @returns {Subprotocol | undefined}
 */
export function chooseSubprotocol(offers) {
  if (offers.length === 0) return SUBPROTOCOLS.json;
  for (const offer of offers) {
    const spoken = SPOKEN_SUBPROTOCOLS.find((name) => name === offer);
    if (spoken) return spoken;
  }
  return undefined;
}

/** Close codes this server uses (RFC 6455 §7.4.1). */
export const CLOSE = Object.freeze({
  /** The server is shutting down, or ended the connection: reconnect with your cursor. */
  GOING_AWAY: 1001,
  /** The client kept sending frames it was told were bad, or pinged past its budget. */
  POLICY_VIOLATION: 1008,
  /** The server failed (a bug): the client may reconnect. */
  INTERNAL_ERROR: 1011,
  /** The client stopped reading and its buffer stayed full. */
  TRY_AGAIN_LATER: 1013,
});

/**
 * The answer to a publish frame: the id stored, or why not (`code` is set when the feed
 * refused a good frame, e.g. RTL_FEED_UNAVAILABLE, as over HTTP).
 * @typedef {{ type: 'ack', id: number, ref?: string } | { type: 'error', message: string, code?: string, ref?: string }} PublishAnswer
 */

/**
 * What a server frame is.
 * @typedef {FeedItem | { kind: 'answer', answer: PublishAnswer }} ServerFrame
 */

/** How each frame is written. */
export const websocketFrames = Object.freeze({
  /** @param {string} json the message's payload, as it is */
  message: (json) => json,
  /** @param {ControlEvent} event */
  control: (event) => JSON.stringify(event),
  /** @param {PublishAnswer} answer */
  answer: (answer) => JSON.stringify(answer),
  /**
   * A client's publish frame.
   * @param {{ author: string, text: string, ref?: string }} publish
   */
  publish: ({ author, text, ref }) =>
    JSON.stringify(ref === undefined ? { type: 'publish', author, text } : { type: 'publish', author, text, ref }),
});

/**
 * How each frame is written in realtime-lab.v1.msgpack: the object its JSON frame carries,
 * as MessagePack, sent as a binary frame.
 */
export const msgpackFrames = Object.freeze({
  /** @param {object} message the message `{id, ts, author, text}` */
  message: (message) => encode(message),
  /** @param {ControlEvent} event */
  control: (event) => encode(event),
  /** @param {PublishAnswer} answer */
  answer: (answer) => encode(answer),
  /**
   * A client's publish frame.
   * @param {{ author: string, text: string, ref?: string }} publish
   */
  publish: ({ author, text, ref }) =>
    encode(ref === undefined ? { type: 'publish', author, text } : { type: 'publish', author, text, ref }),
});

/**
 * Reads a client frame in `subprotocol`: the decoded value, or why it cannot be read
 * (a text frame in MessagePack, a binary one in JSON, bytes that do not decode).
 * @param {Subprotocol} subprotocol
 * @param {Uint8Array} data the frame's payload
 * @param {boolean} isBinary whether it came as a binary frame
 * @returns {{ ok: true, value: unknown } | { ok: false, message: string }}
 */
export function readClientFrame(subprotocol, data, isBinary) {
  if (subprotocol === SUBPROTOCOLS.msgpack) {
    if (!isBinary) {
      return {
        ok: false,
        message: `text frames are not accepted in ${SUBPROTOCOLS.msgpack}: send MessagePack binary frames`,
      };
    }
    try {
      return { ok: true, value: decode(data) };
    } catch {
      return { ok: false, message: 'frame is not MessagePack: send a map {type:"publish",author:"...",text:"..."}' };
    }
  }
  if (isBinary) {
    return { ok: false, message: 'binary frames are not accepted: send JSON text frames' };
  }
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(data)) };
  } catch {
    return { ok: false, message: 'frame is not JSON: send {"type":"publish","author":"...","text":"..."}' };
  }
}

/**
 * Reads a server frame; throws on a frame that is not JSON. A message comes back as its
 * text and as the object read from it (read once: use `messageOf`).
 * @param {string} text
 * @returns {ServerFrame}
 */
export function parseServerFrame(text) {
  const frame = JSON.parse(text);
  if (typeof frame.type !== 'string') return { kind: 'message', json: text, message: frame };
  if (frame.type === 'ack' || frame.type === 'error') return { kind: 'answer', answer: frame };
  return { kind: 'control', event: frame };
}

/**
 * Reads a realtime-lab.v1.msgpack server frame; throws on bytes that are not MessagePack.
 * A message comes back as its JSON and itself, as parseServerFrame gives it.
 * @param {Uint8Array} bytes
 * @returns {ServerFrame}
 */
export function parseMsgpackServerFrame(bytes) {
  const frame = /** @type {Record<string, unknown>} */ (decode(bytes));
  if (typeof frame.type !== 'string')
    return { kind: 'message', json: JSON.stringify(frame), message: /** @type {Message} */ (frame) };
  if (frame.type === 'ack' || frame.type === 'error')
    return { kind: 'answer', answer: /** @type {PublishAnswer} */ (frame) };
  return { kind: 'control', event: /** @type {ControlEvent} */ (frame) };
}
