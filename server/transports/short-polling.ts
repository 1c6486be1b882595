/**
 * Short polling: the client asks "anything after cursor C?" every few hundred ms and the
 * server answers at once, mostly with nothing. Simple and proxy-proof; it pays a full
 * HTTP request and response per poll, and a message waits on average half an interval.
 */
import { sendPollPage } from '../poll-reply.ts';
import { type TransportBehaviour, batchBody, epochOf, sinceOf } from '../transport.ts';

export const transport: TransportBehaviour = {
  register(scope, context) {
    scope.get('/', async (request, reply) => {
      const cursor = sinceOf(request.query);
      const epoch = epochOf(request.query);
      const batch = await context.feed.since(cursor, epoch);
      const page = batchBody(batch, context.config.pollPageBytes, { cursor, epoch });
      return sendPollPage(request, reply, page, context);
    });
  },
};
