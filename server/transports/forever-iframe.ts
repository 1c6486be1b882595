/**
 * Forever iframe: a hidden iframe loads an HTML document that never ends; the server
 * writes one <script> per message, which the browser runs as it arrives, calling a
 * function of the parent page. The oldest streaming trick, from before XHR streaming,
 * SSE and WebSocket.
 *
 * The parent page defines `window.onFeedMessage(message)` and `window.onFeedEvent(event)`;
 * the names are fixed (never taken from the request, unlike JSONP callbacks). The document
 * ends after IFRAME_MAX_BYTES so it does not grow forever; the iframe's `load` event then
 * tells the client to reopen it from its cursor.
 */
import type { StreamFormat } from '../stream.ts';
import { serveStream } from '../stream.ts';
import { type Transport, epochOf, sinceOf } from '../transport.ts';

// Inside a <script>, the HTML parser only looks for `</script` (and `<!--` / `<script`,
// which open its escaped states), and U+2028/U+2029 end a JS line in older engines. Every
// one of these is written as a \u escape, which JSON and JS read back as the same text.
const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/g;

/** The message JSON made safe to place inside a <script> element. */
export function escapeForScript(json: string): string {
  return json.replace(SCRIPT_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function iframeFormat(maxBytes: number): StreamFormat {
  return {
    headers: Object.freeze({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      // Only a page of this server may frame it.
      'content-security-policy': "frame-ancestors 'self'",
    }),
    // Short aliases keep the per-message overhead small; they are spelled out once here.
    open: () =>
      '<!doctype html><html><head><meta charset="utf-8"><title>forever iframe</title></head><body>\n' +
      '<script>var m = parent.onFeedMessage, c = parent.onFeedEvent;</script>\n',
    message: (_message, json) => `<script>m(${escapeForScript(json)})</script>\n`,
    control: (event) =>
      `<script>c(${escapeForScript(JSON.stringify(event))})</script>\n` + (event.type === 'end' ? '</body></html>\n' : ''),
    heartbeat: () => '<!-- heartbeat -->\n',
    maxBytes,
  };
}

export const foreverIframe: Transport = {
  id: 'forever-iframe',
  summary: 'a hidden iframe whose HTML response never ends: the server writes one <script> per message',
  register(scope, context) {
    const format = iframeFormat(context.config.iframeMaxBytes);
    scope.get('/', async (request, reply) => {
      serveStream(request, reply, context, sinceOf(request.query), epochOf(request.query), format);
    });
  },
};
