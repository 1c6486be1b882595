/**
 * Server-Sent Events: one long `text/event-stream` response that the browser's
 * EventSource reads, reconnecting by itself with the last `id:` it saw as Last-Event-ID.
 * Server to client only; publishing is a separate POST.
 */
import type { StreamFormat } from '../stream.ts';
import { serveStream } from '../stream.ts';
import { type Transport, epochOf, parseCursor, parseEpoch, sinceOf } from '../transport.ts';

/** How long EventSource waits before reconnecting after the stream ends, ms. */
export const SSE_RETRY_MS = 2000;

/**
 * The wire format. A message is its JSON on one `data:` line: JSON never contains a raw
 * CR or LF, so no text can end the field early or forge an `id:` line. Its `id:` is
 * `<epoch>.<id>`, so the Last-Event-ID that EventSource sends back by itself carries the
 * whole cursor. Control events are named (`event: gap`), so EventSource's `onmessage`
 * only ever sees messages.
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
  message: (message, json, epoch) => `id: ${epoch}.${message.id}\ndata: ${json}\n\n`,
  control: (event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
  heartbeat: () => ': heartbeat\n\n',
};

export const sse: Transport = {
  id: 'sse',
  summary: 'Server-Sent Events: text/event-stream read by the browser\'s EventSource',
  register(scope, context) {
    scope.get('/', async (request, reply) => {
      // A reconnecting EventSource sends the last id it saw; that beats the URL's `since`
      // and `epoch`, which are where the stream first started.
      const since = sinceOf(request.query);
      const epoch = epochOf(request.query);
      const lastEventId = parseLastEventId(request.headers['last-event-id']);
      if (lastEventId) serveStream(request, reply, context, lastEventId.cursor, lastEventId.epoch, sseFormat);
      else serveStream(request, reply, context, since, epoch, sseFormat);
    });
  },
};

/**
 * A Last-Event-ID header: `<epoch>.<id>` as this server writes it, or a bare `<id>` (a
 * client that set it by hand, or an older server's stream: no epoch, taken as this feed's
 * cursor). Undefined when absent; a 400 when malformed.
 */
export function parseLastEventId(raw: unknown): { epoch: string | undefined; cursor: number } | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const dot = text.indexOf('.');
  const epoch = dot === -1 ? undefined : parseEpoch('the epoch in Last-Event-ID', text.slice(0, dot));
  const cursor = parseCursor(dot === -1 ? 'Last-Event-ID' : 'the id in Last-Event-ID', dot === -1 ? raw : text.slice(dot + 1));
  return cursor === undefined ? undefined : { epoch, cursor };
}
