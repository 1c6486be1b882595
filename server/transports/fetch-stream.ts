/**
 * Streaming over fetch: one long `application/x-ndjson` response, one JSON value per
 * line, that the page reads with `fetch()` and `response.body.getReader()`. The heir of
 * the forever iframe and of XHR streaming: the same never-ending response, read by the
 * page's own code instead of a browser quirk. Nothing reconnects by itself and there is
 * no Last-Event-ID: the client asks again with `since` and `epoch` from the last line it
 * parsed. Server to client only; publishing is a separate POST.
 */
import { NDJSON_HEADERS, ndjson } from '../contract/formats/ndjson.js';
import type { StreamFormat } from '../stream.ts';
import { serveStream } from '../stream.ts';
import { type TransportBehaviour, epochOf, sinceOf } from '../transport.ts';

/** The wire format, as the contract writes it (`contract/formats/ndjson.js`). */
export const ndjsonFormat: StreamFormat = {
  headers: NDJSON_HEADERS,
  open: ndjson.open,
  message: (_message, json) => ndjson.message(json),
  control: ndjson.control,
  heartbeat: ndjson.heartbeat,
  padding: ndjson.padding,
};

export const transport: TransportBehaviour = {
  register(scope, context) {
    scope.get('/', async (request, reply) => {
      serveStream(request, reply, context, sinceOf(request.query), epochOf(request.query), ndjsonFormat);
    });
  },
};
