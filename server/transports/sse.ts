/**
 * Server-Sent Events: one long `text/event-stream` response that the browser's
 * EventSource reads, reconnecting by itself with the last `id:` it saw as Last-Event-ID.
 * Server to client only; publishing is a separate POST.
 */
import { EVENT_STREAM_HEADERS, eventStream, splitEventId } from '../contract/formats/event-stream.js';
import type { StreamFormat } from '../stream.ts';
import { serveStream } from '../stream.ts';
import { type TransportBehaviour, epochOf, parseCursor, parseEpoch, sinceOf } from '../transport.ts';

/** The wire format, as the contract writes it (`contract/formats/event-stream.js`). */
export const sseFormat: StreamFormat = {
  headers: EVENT_STREAM_HEADERS,
  open: eventStream.open,
  message: (message, json, epoch) => eventStream.message(json, epoch, message.id),
  control: eventStream.control,
  heartbeat: eventStream.heartbeat,
  padding: eventStream.padding,
};

export const transport: TransportBehaviour = {
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
  const parts = splitEventId(String(raw));
  const epoch = parts.epoch === undefined ? undefined : parseEpoch('the epoch in Last-Event-ID', parts.epoch);
  const cursor = parseCursor(
    parts.epoch === undefined ? 'Last-Event-ID' : 'the id in Last-Event-ID',
    parts.epoch === undefined ? raw : parts.id,
  );
  return cursor === undefined ? undefined : { epoch, cursor };
}
