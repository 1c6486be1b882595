// The forever iframe's document: HTML that never ends, one <script> per message, which
// the browser runs as it arrives, calling a function of the parent page. The names are
// fixed (never taken from the request, unlike JSONP callbacks). The argument is JSON with
// `<`, `>`, `&`, U+2028 and U+2029 escaped, which JSON and JS read back as the same text.

/** @import { ControlEvent, FeedItem } from '../feed.js' */

/** The functions the parent page defines, which the document's scripts call. */
export const SCRIPT_CALLBACKS = Object.freeze({ message: 'onFeedMessage', event: 'onFeedEvent' });

/** The response headers of a document. */
export const SCRIPT_STREAM_HEADERS = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache, no-store',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
  // Only a page of this server may frame it.
  'content-security-policy': "frame-ancestors 'self'",
});

// Inside a <script>, the HTML parser only looks for `</script` (and `<!--` / `<script`,
// which open its escaped states), and U+2028/U+2029 end a JS line in older engines.
const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/g;

/**
 * JSON made safe to place inside a <script> element: each unsafe character as a \u escape.
 * @param {string} json
 */
export function escapeForScript(json) {
  return json.replace(SCRIPT_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How each thing is written in the document. Short aliases (`m`, `c`) keep the per-message overhead small. */
export const scriptStream = Object.freeze({
  /**
   * Once, right after the headers: the document's head, and the aliases spelled out. Opened
   * in a tab of its own, the document has no parent page to call (its `parent` is itself):
   * it then says so and shows each call as a line of text, rather than throwing at each one.
   */
  open: () =>
    '<!doctype html><html><head><meta charset="utf-8"><title>forever iframe</title></head><body>\n' +
    `<script>var m = parent.${SCRIPT_CALLBACKS.message}, c = parent.${SCRIPT_CALLBACKS.event};` +
    'if (!m || !c) { m = c = function (x) { document.body.appendChild(document.createElement("pre")).textContent = JSON.stringify(x); };' +
    ' document.body.appendChild(document.createElement("p")).textContent = "This document is meant for a hidden iframe that a page calls back; opened alone, it shows each call as text."; }</script>\n',
  /** @param {string} json the message's payload */
  message: (json) => `<script>m(${escapeForScript(json)})</script>\n`,
  /** @param {ControlEvent} event; an `end` also closes the document */
  control: (event) =>
    `<script>c(${escapeForScript(JSON.stringify(event))})</script>\n` +
    (event.type === 'end' ? '</body></html>\n' : ''),
  heartbeat: () => '<!-- heartbeat -->\n',
  /**
   * An HTML comment of exactly `bytes` bytes (at least 8), written after the opening when
   * asked (`padding=`): it fills the first KiB that some intermediaries hold. @param {number} bytes
   */
  padding: (bytes) => `<!--${' '.repeat(Math.max(0, bytes - 8))}-->\n`,
});

/**
 * Reads the document as it arrives, the way a browser would minus the browser: finds the
 * `<script>m(…)</script>` calls (a message) and `<script>c(…)</script>` calls (a control
 * event). Keeps an incomplete tail for the next chunk.
 */
export class ScriptStreamParser {
  #tail = '';

  /** @param {string} text @returns {FeedItem[]} */
  push(text) {
    /** @type {FeedItem[]} */
    const items = [];
    const calls = /<script>([mc])\((.*?)\)<\/script>\n/g;
    const buffer = this.#tail + text;
    let consumed = 0;
    for (let match = calls.exec(buffer); match; match = calls.exec(buffer)) {
      consumed = calls.lastIndex;
      const argument = match[2] ?? '';
      // The escapes only change how the JSON is spelled: the payload is the JSON itself.
      if (match[1] === 'm') {
        const message = JSON.parse(argument);
        items.push({ kind: 'message', json: JSON.stringify(message), message });
      } else items.push({ kind: 'control', event: JSON.parse(argument) });
    }
    this.#tail = buffer.slice(consumed);
    return items;
  }
}
