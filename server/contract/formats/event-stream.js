// Server-Sent Events (text/event-stream). A message is its JSON on one `data:` line:
// JSON never contains a raw CR or LF, so no text can end the field early or forge an
// `id:` line. Its `id:` is `<epoch>.<id>`, so the Last-Event-ID that EventSource sends
// back by itself carries the whole cursor. Control events are named (`event: gap`), so
// EventSource's `onmessage` only ever sees messages.

/** @import { ControlEvent, FeedItem } from '../feed.js' */

/** How long EventSource waits before reconnecting after the stream ends, ms (`retry:`). */
export const SSE_RETRY_MS = 2000;

/** The response headers of a stream. */
export const EVENT_STREAM_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx buffers responses unless told not to; a buffered stream is not a stream.
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
});

/** How each thing is written on the stream. */
export const eventStream = Object.freeze({
  /** Once, right after the headers. */
  open: () => `retry: ${SSE_RETRY_MS}\n\n`,
  /** One message of the feed `epoch`; `json` is its payload. @param {string} json @param {string} epoch @param {number} id */
  message: (json, epoch, id) => `id: ${epoch}.${id}\ndata: ${json}\n\n`,
  /** @param {ControlEvent} event */
  control: (event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
  /**
   * A comment of exactly `bytes` bytes (at least 3), written after the opening when asked
   * (`padding=`): it fills the first KiB that some intermediaries hold. @param {number} bytes
   */
  padding: (bytes) => `:${' '.repeat(Math.max(0, bytes - 3))}\n\n`,
  /** A comment: keeps proxies from cutting an idle stream; EventSource ignores it. */
  heartbeat: () => ': heartbeat\n\n',
});

/**
 * Reads a stream as it arrives: text in, complete items out (an event ends at a blank
 * line; `data:` carries the message JSON; named events are control events; `id:`,
 * `retry:` and comments are skipped). Keeps an incomplete tail for the next chunk.
 */
export class EventStreamParser {
  #tail = '';

  /** @param {string} text @returns {FeedItem[]} */
  push(text) {
    /** @type {FeedItem[]} */
    const items = [];
    const blocks = (this.#tail + text).split('\n\n');
    this.#tail = blocks.pop() ?? '';
    for (const block of blocks) {
      let event = 'message';
      /** @type {string | undefined} */
      let data;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data === undefined) continue;
      items.push(event === 'message' ? { kind: 'message', json: data } : { kind: 'control', event: JSON.parse(data) });
    }
    return items;
  }
}

/**
 * A Last-Event-ID value as this server writes ids: `<epoch>.<id>`, or a bare `<id>` (set by
 * hand, or from a server without epochs). Returns the two parts unchecked; the server
 * validates each.
 * @param {string} text
 * @returns {{ epoch: string | undefined, id: string }}
 */
export function splitEventId(text) {
  const dot = text.indexOf('.');
  return dot === -1 ? { epoch: undefined, id: text } : { epoch: text.slice(0, dot), id: text.slice(dot + 1) };
}
