// Newline-delimited JSON (application/x-ndjson), read with fetch() and a ReadableStream:
// one JSON value per line. A message is its JSON as it is; a control event is its own
// JSON, whose first field is `type` (a message has none), so one look at the start of a
// line tells them apart without parsing every message twice. JSON never contains a raw
// LF, so no text can end a line early or forge a control event. There is no id field and
// no Last-Event-ID: fetch() does not reconnect by itself, so the client reconnects with
// `?since=<id>&epoch=<epoch>` from the last line it parsed.

/** @import { ControlEvent, FeedItem } from '../feed.js' */

/** The response headers of a stream. */
export const NDJSON_HEADERS = Object.freeze({
  'content-type': 'application/x-ndjson',
  // no-store: a replayed stream is stale the moment it is cached; no-transform asks
  // proxies that compress bodies to leave this one alone, as compression buffers it.
  'cache-control': 'no-store, no-transform',
  // nginx buffers responses unless told not to; a buffered stream is not a stream.
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
});

/** How a control event's line starts, as the encoder writes it: what the parser looks for. */
const CONTROL_PREFIX = '{"type":';

/** How each thing is written on the stream. */
export const ndjson = Object.freeze({
  /** Nothing before the first line: the `epoch` event opens the stream. */
  open: () => '',
  /** One message; `json` is its payload, which is the whole line. @param {string} json */
  message: (json) => `${json}\n`,
  /**
   * `type` first whatever order the event was built in (a key keeps the place it was
   * first set at), so the parser knows it without parsing messages. @param {ControlEvent} event
   */
  control: (event) => {
    const { type, ...rest } = event;
    return `${JSON.stringify({ type, ...rest })}\n`;
  },
  /**
   * A line of exactly `bytes` bytes (at least 1) of spaces, written after the opening
   * when asked (`padding=`): a blank line, which the parser skips. @param {number} bytes
   */
  padding: (bytes) => `${' '.repeat(Math.max(0, bytes - 1))}\n`,
  /**
   * An empty line: one byte that keeps proxies from cutting an idle stream and wakes the
   * reader (a client may time its liveness on it); parsers skip blank lines, as the
   * NDJSON spec allows, and it is no event of the feed's vocabulary.
   */
  heartbeat: () => '\n',
});

/**
 * Reads a stream as it arrives: text in, complete items out. A line ends at LF (a CR
 * before it is dropped); blank lines (heartbeats, padding) are skipped; a line starting
 * `{"type":` is a control event, any other a message's JSON. Keeps an incomplete last
 * line for the next chunk.
 */
export class NdjsonParser {
  #tail = '';

  /** @param {string} text @returns {FeedItem[]} */
  push(text) {
    /** @type {FeedItem[]} */
    const items = [];
    const lines = (this.#tail + text).split('\n');
    this.#tail = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      items.push(
        line.startsWith(CONTROL_PREFIX)
          ? { kind: 'control', event: JSON.parse(line) }
          : { kind: 'message', json: line },
      );
    }
    return items;
  }
}
