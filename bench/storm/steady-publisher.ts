/**
 * A publisher that keeps going whatever happens to the subscribers' server: one POST
 * every 1000/rate ms to a node that stays up, each id noted with the moment it was sent,
 * so that a message can be said to be published before, during or after the restart.
 */
import { paddedText } from '../publisher.ts';

export interface Published {
  id: number;
  /** When it was sent: this process's performance.now(), ms. */
  sentAt: number;
}

export interface SteadyPublisher {
  /** Publishes one message now, out of the steady rhythm, and resolves with its id. */
  publishNow(): Promise<number>;
  /** Stops, waits for the answers still out, and gives every message that got an id. */
  stop(): Promise<Published[]>;
  /** Publishes that failed (none are expected: its node stays up). */
  readonly failures: number;
}

export function steadyPublisher(options: {
  baseUrl: string;
  rate: number;
  author: string;
  payloadBytes: number;
}): SteadyPublisher {
  const body = JSON.stringify({ author: options.author, text: paddedText(options.payloadBytes, options.author) });
  const published: Published[] = [];
  const pending = new Set<Promise<unknown>>();
  let failures = 0;
  const post = async (): Promise<number> => {
    const sentAt = performance.now();
    const response = await fetch(`${options.baseUrl}/api/messages?client=${encodeURIComponent(options.author)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const answer = await response.text();
    if (response.status !== 201) throw new Error(`POST /api/messages answered ${response.status}: ${answer}`);
    const { id } = JSON.parse(answer) as { id: number };
    published.push({ id, sentAt });
    return id;
  };
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    promise.then(
      () => pending.delete(promise),
      () => {
        failures += 1;
        pending.delete(promise);
      },
    );
    return promise;
  };
  const timer = setInterval(() => void track(post()).catch(() => undefined), 1000 / options.rate);
  return {
    publishNow: () => track(post()),
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...pending]);
      return published.sort((a, b) => a.id - b.id);
    },
    get failures() {
      return failures;
    },
  };
}
