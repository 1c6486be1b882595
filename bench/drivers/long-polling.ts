/**
 * Long polling: every client keeps one request open; the server answers it when a message
 * exists (or the hold time runs out) and the client asks again at once, with its new
 * cursor. autocannon sends the next request as soon as an answer is in.
 */
import { LONG_POLL_TIMEOUT_MS } from '../../server/contract/defaults.js';
import { type BenchDriver, endpointOf } from './driver.ts';
import { heldOpen, pollers } from './pollers.ts';

export const driver: BenchDriver = {
  client: 'autocannon, one keep-alive connection per client, next request at once',
  subscribe(context) {
    return pollers(context, {
      path: endpointOf(context.technique),
      // The server's default hold, asked for by name so that the model below is about it.
      extraQuery: `&timeout=${LONG_POLL_TIMEOUT_MS}`,
      timeoutSec: LONG_POLL_TIMEOUT_MS / 1000 + 10,
      ready: () => heldOpen(context, context.clients),
    });
  },
  predict({ clients, publishedIds, subscribedMs }) {
    // Timeouts only happen when nothing is published for a whole hold time.
    const timeouts = publishedIds.length === 0 ? Math.floor(subscribedMs / LONG_POLL_TIMEOUT_MS) : 0;
    return [
      {
        metric: 'httpRequests',
        predicted: clients * (1 + publishedIds.length + timeouts),
        tolerance: 0.1,
        toleranceAbs: clients,
        model: 'clients × (1 + messages + hold timeouts): one request per message',
      },
    ];
  },
};
