/**
 * The one feed: an append-only log of messages that every technique serves.
 *
 * Ids start at 1 and grow by one, so a message id doubles as a cursor: "since C" means
 * every message with id > C. Ids start again at 1 when a feed starts over (the process
 * restarted, or Redis lost its data), so every feed also has an epoch, a random name of
 * its own, and a full cursor is (epoch, id). History is bounded; a cursor that has fallen
 * out of it gets an explicit count of what it missed, and a cursor of another epoch, or
 * one from the future, gets an explicit reset. Nothing is skipped silently.
 */
import { randomInt } from 'node:crypto';
import type { Message, PublishInput } from './message.ts';

/** Characters in an epoch this server makes: 36^6, about 2 billion names. */
export const EPOCH_LENGTH = 6;
const EPOCH_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
export { isEpoch } from './contract/feed.js';

/** A new feed's epoch: EPOCH_LENGTH random characters of [0-9a-z], from the crypto RNG. */
export function newEpoch(): string {
  let epoch = '';
  for (let i = 0; i < EPOCH_LENGTH; i += 1) epoch += EPOCH_ALPHABET[randomInt(EPOCH_ALPHABET.length)];
  return epoch;
}

/** What a cursor read returns: the same shape the polling techniques answer with. */
export interface Batch {
  /**
   * The epoch of the feed this batch was read from: the client sends it back with
   * `cursor`. (A node of a shared feed that cannot reach its backplane, and so cannot
   * tell, answers with the client's own epoch and nothing new.)
   */
  epoch: string;
  /** The id of the last message in `messages`, or the cursor to use next when empty. */
  cursor: number;
  messages: Message[];
  /** Set when the cursor was older than the history: how many messages it can never get. */
  missed?: number;
  /**
   * Set when the cursor belongs to another feed (its epoch is not this feed's, or it is
   * ahead of this feed): it is sent this feed's history from the start, as for cursor 0.
   */
  reset?: true;
}

/**
 * What follows a feed's publishes: an object with a method, so that a subscription costs
 * a Set entry and no closure (ten thousand followers, ten thousand closures otherwise).
 */
export interface FeedSubscriber {
  published(message: Message): void;
}

/** Whether the feed can take publishes; with a reason for people when it cannot. */
export interface FeedHealth {
  ok: boolean;
  /** Why not, e.g. "redis://127.0.0.1:6379 unreachable: connect ECONNREFUSED". */
  reason?: string;
}

/**
 * The feed as every technique sees it. Two backends implement it: MemoryFeed (one
 * process) and RedisFeed (redis-feed.ts: several nodes on one Redis Stream).
 */
export interface Feed {
  /**
   * This feed's name: EPOCH_LENGTH characters of [0-9a-z], random per feed. A cursor is
   * only meaningful with it. A shared feed's epoch changes when its backplane lost the
   * feed and a new one began.
   */
  readonly epoch: string;
  /** Appends a checked message; resolves with it as stored, id and ts set. Rejects with FeedUnavailable when it cannot. */
  publish(input: PublishInput): Promise<Message>;
  /**
   * Messages after `cursor`; with no cursor, none, and the cursor for "from now on".
   * `epoch` is the epoch the client got `cursor` from: another epoch than this feed's
   * gets a reset and the history from the start. Without it the cursor is taken as this
   * feed's (what a bare `since=5` typed by hand means).
   * Asynchronous because a node of a shared feed may have to ask the backplane: a cursor
   * another node has served can be ahead of what this node holds yet.
   */
  since(cursor: number | undefined, epoch?: string): Promise<Batch>;
  /** Calls `subscriber.published` with each message this node learns of from now on, until unsubscribed. */
  subscribe(subscriber: FeedSubscriber): void;
  /** Ends a subscription; ending it twice, or one never made, changes nothing. */
  unsubscribe(subscriber: FeedSubscriber): void;
  /** The id of the newest message this node holds, 0 when none. */
  readonly lastId: number;
  /** Subscribed listeners: lets tests prove that hung-up clients leave nothing behind. */
  readonly listenerCount: number;
  /** Whether publishes can be taken now; `/api/health` reports it. */
  health(): FeedHealth;
  /** Lets go of connections and timers; the feed takes no publish after it. */
  close(): Promise<void>;
}

/** Epoch milliseconds with sub-millisecond precision, rounded to the microsecond. */
export function preciseNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

/**
 * The answer to "since `cursor` of `cursorEpoch`" from a run of consecutive messages
 * (oldest first) of the feed `epoch` that ends with its newest, whose id is `lastId`. It
 * may start anywhere up to `cursor + 1`: what it lacks before that is what the cursor
 * missed.
 */
export function batchFrom(
  messages: readonly Message[],
  lastId: number,
  epoch: string,
  cursor: number | undefined,
  cursorEpoch?: string,
): Batch {
  if (cursor === undefined) return { epoch, cursor: lastId, messages: [] };
  // A cursor of another feed says nothing about this one: from the start, and a gap if
  // the history no longer reaches back to id 1.
  if (cursor > lastId || (cursorEpoch !== undefined && cursorEpoch !== epoch)) {
    return { ...batchFrom(messages, lastId, epoch, 0), reset: true };
  }
  const oldest = messages[0]?.id ?? lastId + 1;
  const missed = Math.max(0, oldest - 1 - cursor);
  const start = Math.max(0, cursor - oldest + 1);
  const after = messages.slice(start);
  const batch: Batch = { epoch, cursor: after.at(-1)?.id ?? cursor + missed, messages: after };
  if (missed > 0) batch.missed = missed;
  return batch;
}

/**
 * The last `size` messages of the feed `epoch`, consecutive, oldest first: a feed's
 * history or a node's mirror of it.
 */
export class History {
  readonly #size: number;
  // Trimmed from the front. At 1,000 entries a shift is cheap.
  #messages: Message[] = [];
  #lastId = 0;
  #epoch: string;

  constructor(size: number, epoch: string) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`historySize must be a positive integer, got ${size}`);
    this.#size = size;
    this.#epoch = epoch;
  }

  get lastId(): number {
    return this.#lastId;
  }

  get epoch(): string {
    return this.#epoch;
  }

  /** Appends the next message. One that does not follow the last starts a new run: what lies between is a gap. */
  append(message: Message): void {
    if (message.id !== this.#lastId + 1) this.#messages = [];
    this.#messages.push(message);
    this.#lastId = message.id;
    if (this.#messages.length > this.#size) this.#messages.shift();
  }

  /** Forgets everything: the feed behind it is a new one, `epoch`, from id 1. */
  restart(epoch: string): void {
    this.#messages = [];
    this.#lastId = 0;
    this.#epoch = epoch;
  }

  since(cursor: number | undefined, cursorEpoch?: string): Batch {
    return batchFrom(this.#messages, this.#lastId, this.#epoch, cursor, cursorEpoch);
  }
}

/** A feed's subscribers, each called in turn; one that throws is reported and the rest still run. */
export class Listeners {
  readonly #listeners = new Set<FeedSubscriber>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void = (error) => console.error('feed listener failed', error)) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#listeners.size;
  }

  add(subscriber: FeedSubscriber): void {
    this.#listeners.add(subscriber);
  }

  delete(subscriber: FeedSubscriber): void {
    this.#listeners.delete(subscriber);
  }

  notify(message: Message): void {
    // A copy, so a listener that unsubscribes (or subscribes) while we loop is safe.
    for (const subscriber of [...this.#listeners]) {
      try {
        subscriber.published(message);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}

export interface MemoryFeedOptions {
  /** Messages kept for resuming clients. */
  historySize: number;
  /** Where a throwing listener is reported; it never stops delivery to the others. */
  onListenerError?: (error: unknown) => void;
}

/** The in-memory feed: one process, history in a ring of `historySize` messages. */
export class MemoryFeed implements Feed {
  readonly #history: History;
  readonly #listeners: Listeners;

  constructor(options: MemoryFeedOptions) {
    // A process's memory is its feed: a new process, a new epoch.
    this.#history = new History(options.historySize, newEpoch());
    this.#listeners = new Listeners(options.onListenerError);
  }

  get epoch(): string {
    return this.#history.epoch;
  }

  get lastId(): number {
    return this.#history.lastId;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  async publish(input: PublishInput): Promise<Message> {
    const message: Message = { id: this.#history.lastId + 1, ts: preciseNow(), author: input.author, text: input.text };
    this.#history.append(message);
    this.#listeners.notify(message);
    return message;
  }

  async since(cursor: number | undefined, epoch?: string): Promise<Batch> {
    return this.#history.since(cursor, epoch);
  }

  subscribe(subscriber: FeedSubscriber): void {
    this.#listeners.add(subscriber);
  }

  unsubscribe(subscriber: FeedSubscriber): void {
    this.#listeners.delete(subscriber);
  }

  health(): FeedHealth {
    return { ok: true };
  }

  async close(): Promise<void> {}
}
