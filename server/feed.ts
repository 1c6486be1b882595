/**
 * The one feed: an append-only log of messages that every technique serves.
 *
 * Ids start at 1 and grow by one, so a message id doubles as a cursor: "since C" means
 * every message with id > C. History is bounded; a cursor that has fallen out of it gets
 * an explicit count of what it missed, and a cursor from the future (the server
 * restarted, its history is gone) gets an explicit reset. Nothing is skipped silently.
 */
import type { Message, PublishInput } from './message.ts';

/** What a cursor read returns: the same shape the polling techniques answer with. */
export interface Batch {
  /** The id of the last message in `messages`, or the cursor to use next when empty. */
  cursor: number;
  messages: Message[];
  /** Set when the cursor was older than the history: how many messages it can never get. */
  missed?: number;
  /**
   * Set when the cursor was ahead of the feed: the client saw another feed (the server
   * restarted), so it is sent all of this feed's history from the start.
   */
  reset?: true;
}

export type FeedListener = (message: Message) => void;

/** The feed as every technique sees it. A Redis-backed feed will implement the same. */
export interface Feed {
  /** Appends a checked message; resolves with it as stored, id and ts set. */
  publish(input: PublishInput): Promise<Message>;
  /** Messages after `cursor`; with no cursor, none, and the cursor for "from now on". */
  since(cursor: number | undefined): Batch;
  /** Calls `listener` with each message published from now on; returns its unsubscribe. */
  subscribe(listener: FeedListener): () => void;
  /** The id of the newest message, 0 when the feed is empty. */
  readonly lastId: number;
  /** Subscribed listeners: lets tests prove that hung-up clients leave nothing behind. */
  readonly listenerCount: number;
}

export interface MemoryFeedOptions {
  /** Messages kept for resuming clients. */
  historySize: number;
  /** Where a throwing listener is reported; it never stops delivery to the others. */
  onListenerError?: (error: unknown) => void;
}

/** Epoch milliseconds with sub-millisecond precision, rounded to the microsecond. */
export function preciseNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

/** The in-memory feed: one process, history in a ring of `historySize` messages. */
export class MemoryFeed implements Feed {
  readonly #historySize: number;
  readonly #onListenerError: (error: unknown) => void;
  // Oldest first; trimmed from the front. At 1,000 entries a shift is cheap.
  readonly #history: Message[] = [];
  readonly #listeners = new Set<FeedListener>();
  #lastId = 0;

  constructor(options: MemoryFeedOptions) {
    if (!Number.isInteger(options.historySize) || options.historySize < 1) {
      throw new RangeError(`historySize must be a positive integer, got ${options.historySize}`);
    }
    this.#historySize = options.historySize;
    this.#onListenerError = options.onListenerError ?? ((error) => console.error('feed listener failed', error));
  }

  get lastId(): number {
    return this.#lastId;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  async publish(input: PublishInput): Promise<Message> {
    const message: Message = { id: this.#lastId + 1, ts: preciseNow(), author: input.author, text: input.text };
    this.#lastId = message.id;
    this.#history.push(message);
    if (this.#history.length > this.#historySize) this.#history.shift();
    // A copy, so a listener that unsubscribes (or subscribes) while we loop is safe.
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
    return message;
  }

  since(cursor: number | undefined): Batch {
    if (cursor === undefined) return { cursor: this.#lastId, messages: [] };
    if (cursor > this.#lastId) {
      return { cursor: this.#lastId, messages: [...this.#history], reset: true };
    }
    const oldest = this.#history[0]?.id ?? this.#lastId + 1;
    const missed = Math.max(0, oldest - 1 - cursor);
    const start = Math.max(0, cursor - oldest + 1);
    const messages = this.#history.slice(start);
    const batch: Batch = { cursor: messages.at(-1)?.id ?? cursor + missed, messages };
    if (missed > 0) batch.missed = missed;
    return batch;
  }

  subscribe(listener: FeedListener): () => void {
    // Wrapped so the same function subscribed twice is two subscriptions.
    const entry: FeedListener = (message) => listener(message);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }
}
