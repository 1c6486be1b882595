/**
 * Long polling: every client keeps one request open; the server answers it when a message
 * exists (or the hold time runs out) and the client asks again at once, with its new
 * cursor. autocannon sends the next request as soon as an answer is in.
 */
import { LONG_POLL_TIMEOUT_MS } from '../../server/contract/defaults.js';
import { fanOutAllowanceMs, firstMessageLatency, oneWayMs, roundTripMs } from '../network/model.ts';
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
  predict({ clients, publishedIds, subscribedMs, publishWindowMs, network, payloadBytesPerMessage }) {
    // Timeouts only happen when nothing is published for a whole hold time.
    const timeouts = publishedIds.length === 0 ? Math.floor(subscribedMs / LONG_POLL_TIMEOUT_MS) : 0;
    const messages = publishedIds.length;
    const trip = roundTripMs(network);
    // After each answer the client is away one round trip (the answer going, the next
    // request coming). Messages further apart than that find a request waiting: one answer
    // each. Closer together, they pile up while it is away: one answer per round trip.
    const gap = messages > 1 ? publishWindowMs / (messages - 1) : Number.POSITIVE_INFINITY;
    const batching = trip > 0 && gap < trip;
    const answers = batching ? Math.min(messages, publishWindowMs / trip) : messages;
    const predictions: ReturnType<BenchDriver['predict']> = [
      {
        metric: 'httpRequests',
        predicted: clients * (1 + answers + timeouts),
        tolerance: batching ? 0.2 : 0.1,
        toleranceAbs: clients,
        model: batching
          ? 'clients × (1 + publishing time ÷ round trip): messages come faster than one per trip, and are batched'
          : 'clients × (1 + messages + hold timeouts): one request per message',
      },
    ];
    if (messages > 0) {
      predictions.push({
        metric: 'meanLatencyMs',
        // Batched, a message waits for the request to come back: half a round trip on average.
        predicted: oneWayMs(network, payloadBytesPerMessage) + (batching ? trip / 2 : 0),
        tolerance: 0.25,
        toleranceAbs: fanOutAllowanceMs(clients),
        model: batching
          ? 'one way, plus half a round trip waiting for the next request (batching)'
          : 'one way: the request is already waiting at the server',
      });
    }
    predictions.push(
      firstMessageLatency(
        network,
        2,
        "TCP's handshake (1 round trip), then the first request, answered at once since a message is waiting (1)",
      ),
    );
    return predictions;
  },
};
