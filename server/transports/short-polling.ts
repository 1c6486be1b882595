/**
 * Short polling: the client asks "anything after cursor C?" every few hundred ms and the
 * server answers at once, mostly with nothing. Simple and proxy-proof; it pays a full
 * HTTP request and response per poll, and a message waits on average half an interval.
 */
import { type TransportBehaviour, batchBody, epochOf, sinceOf } from '../transport.ts';

export const transport: TransportBehaviour = {
  register(scope, context) {
    scope.get('/', async (request, reply) => {
      const batch = await context.feed.since(sinceOf(request.query), epochOf(request.query));
      const { body, messages, payloadBytes } = batchBody(batch, context.config.pollPageBytes);
      context.delivered(request.raw, messages, payloadBytes);
      return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
    });
  },
};
