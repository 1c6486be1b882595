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
import { SCRIPT_STREAM_HEADERS, scriptStream } from '../contract/formats/script-stream.js';
import type { StreamFormat } from '../stream.ts';
import { serveStream } from '../stream.ts';
import { type TransportBehaviour, epochOf, sinceOf } from '../transport.ts';

/** The wire format, as the contract writes it (`contract/formats/script-stream.js`), ending after `maxBytes`. */
export function iframeFormat(maxBytes: number): StreamFormat {
  return {
    headers: SCRIPT_STREAM_HEADERS,
    open: scriptStream.open,
    message: (_message, json) => scriptStream.message(json),
    control: scriptStream.control,
    heartbeat: scriptStream.heartbeat,
    padding: scriptStream.padding,
    maxBytes,
  };
}

export const transport: TransportBehaviour = {
  register(scope, context) {
    const format = iframeFormat(context.config.iframeMaxBytes);
    scope.get('/', async (request, reply) => {
      serveStream(request, reply, context, sinceOf(request.query), epochOf(request.query), format);
    });
  },
};
