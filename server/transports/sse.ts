/**
 * Server-Sent Events: one long `text/event-stream` response that the browser's
 * EventSource reads, reconnecting by itself with the last `id:` it saw as Last-Event-ID.
 * Server to client only; publishing is a separate POST.
 */
import type { StreamFormat } from '../stream.ts';
import { serveStream } from '../stream.ts';
import { type Transport, parseCursor, sinceOf } from '../transport.ts';

/** How long EventSource waits before reconnecting after the stream ends, ms. */
export const SSE_RETRY_MS = 2000;

/**
 * The wire format. A message is its JSON on one `data:` line: JSON never contains a raw
 * CR or LF, so no text can end the field early or forge an `id:` line. Control events are
 * named (`event: gap`), so EventSource's `onmessage` only ever sees messages.
 */
export const sseFormat: StreamFormat = {
  headers: Object.freeze({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    // nginx buffers responses unless told not to; a buffered stream is not a stream.
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  }),
  open: () => `retry: ${SSE_RETRY_MS}\n\n`,
  message: (message, json) => `id: ${message.id}\ndata: ${json}\n\n`,
  control: (event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
  heartbeat: () => ': heartbeat\n\n',
};

export const sse: Transport = {
  id: 'sse',
  summary: 'Server-Sent Events: text/event-stream read by the browser\'s EventSource',
  register(scope, context) {
    scope.get('/', async (request, reply) => {
      // A reconnecting EventSource sends the last id it saw; that beats the URL's `since`.
      const lastEventId = parseCursor('Last-Event-ID', request.headers['last-event-id']);
      const cursor = lastEventId ?? sinceOf(request.query);
      serveStream(request, reply, context, cursor, sseFormat);
    });
  },
};
