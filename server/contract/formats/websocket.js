// WebSocket frames: JSON text frames both ways.
// Server to client: a message is its JSON (`{"id","ts","author","text"}`); every other
// frame has a `type`: `epoch` (the first frame), `gap`, `reset`, `end` (the control
// events), `ack` and `error` (answers to a publish, echoing its `ref`).
// Client to server: `{"type":"publish","author","text"}`, with an optional `ref` string.

/** @import { ControlEvent, FeedItem } from '../feed.js' */

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
 * Reads a server frame; throws on a frame that is not JSON.
 * @param {string} text
 * @returns {ServerFrame}
 */
export function parseServerFrame(text) {
  const frame = JSON.parse(text);
  if (typeof frame.type !== 'string') return { kind: 'message', json: text };
  if (frame.type === 'ack' || frame.type === 'error') return { kind: 'answer', answer: frame };
  return { kind: 'control', event: frame };
}
