/**
 * Polling subscribers on autocannon: one keep-alive connection per client, each request
 * carrying the client's own cursor, each answer checked message by message. Short and
 * long polling differ only in the path, the pace, and when they count as ready.
 */
import { messageOf } from '../../server/contract/feed.js';
import { type PollAnswer, pollItems, readPollResponse } from '../../server/contract/formats/poll.js';
import { type AutocannonClient, figuresOf, paced, start } from '../autocannon.ts';
import type { SubscribeContext, SubscriberReport, Subscribers } from './driver.ts';
import { fetchClientStats, subscriberQuery } from './driver.ts';

export interface PollerOptions {
  /** The technique's endpoint, `/api/<id>`. */
  path: string;
  /** Appended to every request's query. */
  extraQuery?: string;
  /** One request per interval (short polling); undefined sends the next request at once. */
  intervalMs?: number;
  /** autocannon's per-request timeout, seconds: longer than any answer may take. */
  timeoutSec: number;
  /** Resolves when the pollers are in place (long polling: every request held). */
  ready(firstAnswers: Promise<void>): Promise<void>;
}

export function pollers(context: SubscribeContext, options: PollerOptions): Subscribers {
  const { clients, tracker, clock } = context;
  let next = 0;
  let answered = 0;
  let errors = 0;
  let reconnects = 0;
  let allAnswered!: () => void;
  const firstAnswers = new Promise<void>((resolve) => (allAnswered = resolve));
  const origin = performance.now();
  let stopping = false;

  const setupClient = (client: AutocannonClient) => {
    const index = next++;
    let cursor = context.since;
    let more = false;
    let epoch = context.epoch;
    let first = true;
    // autocannon reconnects a broken connection at once and asks again with the same
    // cursor (it only moves when an answer is in), so nothing is lost or repeated.
    // (`connError` is autocannon's event for it; its type definitions omit it.)
    (client as unknown as NodeJS.EventEmitter).on('connError', () => (reconnects += 1));
    // Phases spread evenly over one interval, as independent clients would be.
    // An answer cut to a page: the rest at once (long polling asks again at once anyway).
    if (options.intervalMs !== undefined)
      paced(
        client,
        options.intervalMs,
        origin + (index * options.intervalMs) / clients,
        () => stopping,
        () => more,
      );
    client.setRequests([
      {
        method: 'GET',
        setupRequest: (request) => ({
          ...request,
          path: `${options.path}?${subscriberQuery(context, cursor, epoch, options.extraQuery)}`,
        }),
        onResponse: (status, body) => {
          if (first) {
            first = false;
            if (++answered === clients) allAnswered();
          }
          const now = clock.now();
          let answer: PollAnswer;
          try {
            // The position this request named: a 204 means nothing new after it.
            answer = readPollResponse(status, body, { cursor, epoch });
          } catch {
            errors += 1;
            return;
          }
          for (const item of pollItems(answer)) {
            if (item.kind === 'message') {
              const message = messageOf(item);
              tracker.record(index, message, now - message.ts, Buffer.byteLength(item.json));
            } else if (item.event.type === 'gap') tracker.gap(index, item.event.missed);
          }
          // The answer names its feed: after a reset, a new one, which the cursor now counts in.
          epoch = answer.epoch;
          cursor = answer.cursor;
          more = answer.more === true;
        },
      },
    ]);
  };

  const { instance, done } = start({
    url: context.baseUrl,
    connections: clients,
    pipelining: 1,
    // Until stopped: the engine ends the subscribers once the messages are in.
    duration: 24 * 3600,
    timeout: options.timeoutSec,
    setupClient,
  });
  return {
    ready: options.ready(firstAnswers),
    async stop(): Promise<SubscriberReport> {
      stopping = true;
      instance.stop();
      const result = await done;
      return { errors, reconnects, autocannon: figuresOf(result) };
    },
  };
}

/** Resolves once the server holds `count` requests of this client id open, for the context's technique. */
export async function heldOpen(context: SubscribeContext, count: number, timeoutMs = 30_000): Promise<void> {
  const technique = context.technique.id;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = await fetchClientStats(context.baseUrl, context.clientId);
    if ((stats[technique]?.activeRequests ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${technique}: only some of the ${count} subscribers connected within ${timeoutMs} ms`);
}
