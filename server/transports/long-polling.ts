/**
 * Long polling: the client asks the same question as short polling, but the server holds
 * the request until there is an answer (or the timeout runs out), then the client asks
 * again at once. About one request per message, and no waiting for the next poll.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadTimeout } from '../errors.ts';
import { closeConnectionAfter } from '../protocol.ts';
import { sendPollPage } from '../poll-reply.ts';
import type { Batch } from '../feed.ts';
import type { Message } from '../message.ts';
import { type TransportBehaviour, type TransportContext, batchBody, epochOf, sinceOf } from '../transport.ts';

export const transport: TransportBehaviour = {
  register(scope, context) {
    const { feed, config } = context;
    scope.get('/', async (request, reply) => {
      const cursor = sinceOf(request.query);
      const epoch = epochOf(request.query);
      const timeoutMs = timeoutOf(request.query, config.longPollTimeoutMs, config.longPollMaxTimeoutMs);
      let batch = await feed.since(cursor, epoch);
      if (batch.messages.length === 0 && !batch.reset && !batch.missed && timeoutMs > 0) {
        // Held: one feed subscription, one timer and one `close` listener for the whole
        // hold, and no AbortController (an EventTarget: ~1 KB with a listener). A publish
        // during a read is not lost: it sets `published`, and the loop reads again.
        let over = false;
        let published = false;
        let answered = false;
        let failure: unknown;
        let wake: (() => void) | null = null;
        // Methods, not `const end = () => …`, which tsx (esbuild's keepNames) would give a
        // `name` property of its own: ~250 bytes per held request.
        const hold = {
          end(): void {
            over = true;
            wake?.();
          },
          published(message: Message): void {
            if (over) return;
            // The one message this client lacks: answered in the publish's own call, as
            // the streams write theirs, and not after a turn of the event loop and a read
            // of the feed per held request (a fan-out to 100 then wrote its first answer
            // after all 100 reads). Anything else (a message this client already had from
            // another node, one after a gap, a feed that started over) takes the loop.
            if (message.id === batch.cursor + 1 && feed.epoch === batch.epoch && !reply.raw.destroyed) {
              over = true;
              answered = true;
              hold.letGo();
              try {
                answer(
                  request,
                  reply,
                  context,
                  { epoch: batch.epoch, cursor: message.id, messages: [message] },
                  { cursor, epoch },
                );
              } catch (error) {
                failure = error;
              }
            } else {
              published = true;
            }
            wake?.();
          },
          letGo(): void {
            feed.unsubscribe(hold);
            clearTimeout(timer);
            reply.raw.off('close', hold.end);
            context.release(request.raw);
          },
        };
        feed.subscribe(hold);
        const timer = setTimeout(hold.end, timeoutMs);
        reply.raw.on('close', hold.end);
        context.hold(request.raw, {
          sayLastWords() {
            closeConnectionAfter(request.raw, reply.raw);
            hold.end();
            return new Promise<void>((answered) =>
              reply.raw.destroyed ? answered() : reply.raw.once('close', () => answered()),
            );
          },
        });
        // `batch.cursor` is where this request started, so a message published during the
        // hold is in this answer even when the request named no `since`. A wake-up can
        // bring nothing new: on a shared feed, the message this node just read may be the
        // one the client already had from another node. Then the hold goes on. The epoch
        // goes along, so a feed that starts over during the hold answers with its reset.
        while (!over) {
          if (!published) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = null;
            continue;
          }
          published = false;
          if (reply.raw.destroyed) break;
          batch = await feed.since(batch.cursor, batch.epoch);
          if (batch.messages.length > 0 || batch.reset) break;
        }
        // Answered in the publish's call, which let go of the hold there.
        if (answered) {
          if (failure !== undefined) throw failure;
          return reply;
        }
        hold.letGo();
        // The client hung up: there is nobody left to answer.
        if (reply.raw.destroyed) return reply.hijack();
      }
      return answer(request, reply, context, batch, { cursor, epoch });
    });
  },
};

/** Sends `batch`, a page of it at most, as the answer to a poll that `asked` from a cursor and epoch. */
function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  context: TransportContext,
  batch: Batch,
  asked: { cursor?: number; epoch?: string },
): FastifyReply {
  return sendPollPage(request, reply, batchBody(batch, context.config.pollPageBytes, asked), context);
}

/** The hold time a request asks for with `timeout=MS`, bounded; the default otherwise. */
function timeoutOf(query: unknown, fallback: number, max: number): number {
  const raw = (query as Record<string, unknown> | undefined)?.timeout;
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 0 && value <= max)) throw new BadTimeout(max, JSON.stringify(raw));
  return value;
}
