/**
 * Long polling: every client keeps one request open; the server answers it when a message
 * exists (or the hold time runs out) and the client asks again at once, with its new
 * cursor. autocannon sends the next request as soon as an answer is in.
 */
import type { BenchDriver } from './driver.ts';
import { heldOpen, pollers } from './pollers.ts';

/** The hold time the bench asks for, ms: the server's default, stated so the model knows it. */
export const LONG_POLL_HOLD_MS = 25_000;

export const longPolling: BenchDriver = {
  id: 'long-polling',
  client: 'autocannon, one keep-alive connection per client, next request at once',
  subscribe(context) {
    return pollers(context, {
      path: '/api/long-polling',
      extraQuery: `&timeout=${LONG_POLL_HOLD_MS}`,
      timeoutSec: LONG_POLL_HOLD_MS / 1000 + 10,
      ready: () => heldOpen(context, 'long-polling', context.clients),
    });
  },
  predict({ clients, publishedIds, subscribedMs }) {
    // Timeouts only happen when nothing is published for a whole hold time.
    const timeouts = publishedIds.length === 0 ? Math.floor(subscribedMs / LONG_POLL_HOLD_MS) : 0;
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
