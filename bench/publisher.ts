/**
 * The publisher: autocannon POSTing `POST /api/messages` at a steady rate. Requests are
 * paced on a fixed grid (one every 1000/rate ms overall), spread over enough keep-alive
 * connections that a slow answer never holds the next message back.
 */
import { type AutocannonClient, figuresOf, paced, start } from './autocannon.ts';
import type { AutocannonFigures } from './drivers/driver.ts';

/** The most messages per second one publishing connection is asked to carry. */
const MAX_RATE_PER_CONNECTION = 50;

/** The JSON the server stores around the text: `{"id":…,"ts":…,"author":"…","text":"…"}`. */
const MESSAGE_JSON_FIXED = '{"id":,"ts":,"author":"","text":""}'.length;
/** Typical widths: a 3-digit id, and a `ts` like 1763800000123.456. */
const TYPICAL_ID_AND_TS = 3 + 17;

export interface PublishResult {
  /** The ids the server gave, in the order the 201s came back. */
  ids: number[];
  /** First to last 201, ms. */
  windowMs: number;
  autocannon: AutocannonFigures;
}

/** The text that makes a message's JSON about `payloadBytes` long (± a few bytes as ids grow). */
export function paddedText(payloadBytes: number, author: string): string {
  return 'x'.repeat(Math.max(1, payloadBytes - MESSAGE_JSON_FIXED - TYPICAL_ID_AND_TS - author.length));
}

/** The keep-alive connections the publisher opens for `count` messages at `rate` per second. */
export function publisherConnections(rate: number, count: number): number {
  return Math.min(count, Math.max(1, Math.ceil(rate / MAX_RATE_PER_CONNECTION)));
}

/** Publishes `count` messages at `rate` per second; resolves when every answer is in. */
export async function publish(options: {
  baseUrl: string;
  rate: number;
  count: number;
  author: string;
  text: string;
  onAnswer?: () => void;
}): Promise<PublishResult> {
  const { rate, count } = options;
  const connections = publisherConnections(rate, count);
  const intervalMs = 1000 / rate;
  const ids: number[] = [];
  let first = 0;
  let last = 0;
  const origin = performance.now() + 20;
  let next = 0;
  const body = JSON.stringify({ author: options.author, text: options.text });
  const setupClient = (client: AutocannonClient) => {
    const index = next++;
    // Connection k sends messages k, k + C, k + 2C, …: together, one every intervalMs.
    paced(client, intervalMs * connections, origin + index * intervalMs);
    client.setRequests([
      {
        method: 'POST',
        // Its own client id: a server's publish rate limit then applies to it alone.
        path: `/api/messages?client=${encodeURIComponent(options.author)}`,
        headers: { 'content-type': 'application/json' },
        body,
        onResponse: (status, answer) => {
          options.onAnswer?.();
          if (status !== 201) return;
          ids.push((JSON.parse(answer) as { id: number }).id);
          last = performance.now();
          if (first === 0) first = last;
        },
      },
    ]);
  };
  const { done } = start({ url: options.baseUrl, connections, pipelining: 1, amount: count, timeout: 10, setupClient });
  const result = await done;
  return { ids: ids.sort((a, b) => a - b), windowMs: last - first, autocannon: figuresOf(result) };
}
