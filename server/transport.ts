/**
 * The Transport interface every technique implements, the context the app hands it, and
 * the machinery the techniques share: reading a cursor, waiting for the next message, and
 * following the feed into a client with backpressure.
 *
 * A technique is one line in the registry (`contract/techniques.js`) and one file
 * `transports/<id>.ts` exporting its `transport` (a TransportBehaviour); `transports/index.ts`
 * puts the two together. The app, the stats and the shutdown loop over that list and never
 * look at a technique's name.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AbuseMeter } from './abuse.ts';
import type { Config } from './config.ts';
import { BadCursor, BadEpoch } from './errors.ts';
import { type Batch, type Feed, type FeedSubscriber, isEpoch } from './feed.ts';
import type { Technique } from './contract/techniques.js';
import { encodePollAnswer, tellsNothingNew } from './contract/formats/poll.js';
import type { ControlEvent, EndReason } from './contract/feed.js';
import type { Message } from './message.ts';

export type { ControlEvent, EndReason } from './contract/feed.js';

/** What a technique's file `transports/<id>.ts` exports as `transport`: how it serves `/api/<id>`. */
export interface TransportBehaviour {
  /**
   * Registers the technique's routes on `scope`, an encapsulated Fastify context prefixed
   * with `/api/<id>`: a route at `/` is the technique's endpoint.
   */
  register(scope: FastifyInstance, context: TransportContext): void | Promise<void>;
}

/** A registered technique with its server side: its registry line and its file's behaviour. */
export interface Transport extends Technique, TransportBehaviour {}

/**
 * What the meters, the publish limit and shutdown know a client's connection by: its
 * request (an `IncomingMessage` is one), or, for a WebSocket, which lets go of its
 * handshake once upgraded, `{ socket }` alone. Only `socket` is read.
 */
export interface ConnectionKey {
  readonly socket: Socket;
}

/**
 * How shutdown ends a held request or connection politely. An object with a method (for a
 * streaming client, the client itself) rather than a function: a bound function per
 * connection would cost every idle one ~50 bytes more.
 */
export interface LastWords {
  /**
   * Writes the last words (the answer, an `end` event, a close frame) and resolves once
   * they have been handed to the kernel, or the client is gone; never rejects.
   */
  sayLastWords(): Promise<void>;
}

/** What the app gives a technique: the feed, the settings and its meters. */
export interface TransportContext {
  readonly feed: Feed;
  readonly config: Config;
  /**
   * Counts messages handed to the client of `request` and their payload bytes, for this
   * technique and, when the request named one, for its client.
   */
  delivered(request: ConnectionKey, messages: number, payloadBytes: number): void;
  /**
   * Tells the wire meter a WebSocket handshake is done (before the first frame), and
   * shutdown that its request owes no HTTP answer.
   */
  upgraded(request: IncomingMessage): void;
  /**
   * Keeps a held request or connection so that shutdown can end it with `client`'s
   * sayLastWords (LastWords). Shutdown closes the socket afterwards. `release` it when it
   * ends by itself.
   */
  hold(request: ConnectionKey, client: LastWords): void;
  /** Forgets a held request or connection that ended by itself (holding it again is a new hold). */
  release(request: ConnectionKey): void;
  /**
   * Counts one publish against the rate limit of `client` (or of the request's address
   * when it names none); throws the 429 error when the client is over its limit.
   */
  limitPublish(request: ConnectionKey, client: string | undefined): void;
  /**
   * The client id a request named (`clientOf`), as one string shared by every connection
   * of that client (WireMeter.keptClientId): what a connection that lasts should keep.
   */
  clientId(client: string | undefined): string | undefined;
  /** Where a technique counts and logs what misbehaving clients do (`/api/stats` → `abuse`). */
  readonly abuse: AbuseMeter;
}

/** WebSocket clients: keep writing until this many bytes wait unsent, then wait for a drain. */
export const STREAM_HIGH_WATER_BYTES = 64 * 1024;

const CURSOR_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** A message as it goes on the wire: its JSON (the payload) and its size in UTF-8 bytes. */
export interface EncodedMessage {
  json: string;
  bytes: number;
}

/**
 * `build` made once per message, not once per client: what every client of a format is
 * sent (with 10,000 subscribers, a message would otherwise be serialized, framed and
 * measured 10,000 times). The newest message's is kept apart, as that is what a publish
 * writes to every live client in turn; older ones (replays) in a WeakMap: messages are
 * the feed's own objects, so they go when they leave the history.
 */
export function oncePerMessage<T>(build: (message: Message) => T): (message: Message) => T {
  let newest: { message: Message; value: T } | undefined;
  const older = new WeakMap<Message, { value: T }>();
  return (message) => {
    if (newest?.message === message) return newest.value;
    let entry = older.get(message);
    if (!entry) {
      entry = { value: build(message) };
      older.set(message, entry);
    }
    if (newest === undefined || message.id >= newest.message.id) newest = { message, value: entry.value };
    return entry.value;
  };
}

/** The message's JSON (the payload every technique carries), computed once. */
export const encode = oncePerMessage((message): EncodedMessage => {
  const json = JSON.stringify(message);
  return { json, bytes: Buffer.byteLength(json) };
});

/**
 * Reads a cursor (`since` or a Last-Event-ID value): undefined when absent, a safe integer
 * when valid, and a 400 for anything else (negative, fractional, huge, repeated, empty).
 */
export function parseCursor(name: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !CURSOR_PATTERN.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new BadCursor(name, JSON.stringify(raw));
  }
  return Number(raw);
}

/** The `since` query parameter of a technique's request. */
export function sinceOf(query: unknown): number | undefined {
  return parseCursor('since', (query as Record<string, unknown> | undefined)?.since);
}

/**
 * Reads an epoch (the `epoch` query parameter, or the epoch part of a Last-Event-ID):
 * undefined when absent, the epoch when valid, and a 400 for anything else.
 */
export function parseEpoch(name: string, raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (!isEpoch(raw)) throw new BadEpoch(name, JSON.stringify(raw));
  return raw;
}

/** The `epoch` query parameter: the epoch of the feed `since` was read from. */
export function epochOf(query: unknown): string | undefined {
  return parseEpoch('epoch', (query as Record<string, unknown> | undefined)?.epoch);
}

/** Where a client is in the feed: the id of the last message it has, and that feed's epoch. */
export interface FeedPosition {
  epoch: string;
  cursor: number;
}

/** Why a follow ended: the contract's reasons, or the client hung up. */
export type StopReason = EndReason | 'hangup';

/**
 * The bits of FeedClient's `#flags`. CLOSED: the client hung up. DIRTY: a publish the live
 * path did not write came since the last read (set by every such publish, cleared before
 * each read: no publish can fall between the two). LIVE: on the live path, the feed's
 * notifications write to the client directly. STALLED: the live path filled the client's
 * buffer, so the pull path waits for a drain first. PULLING: the pull path is running
 * (reading, writing or waiting for a drain). FOLLOWING, then ENDED: from follow() to the
 * end (its `ended` called); neither before.
 */
const CLOSED = 1;
const DIRTY = 2;
const LIVE = 4;
const STALLED = 8;
const PULLING = 16;
const FOLLOWING = 32;
const ENDED = 64;

/**
 * One streaming client (stream.ts's StreamSubscriber, transports/websocket.ts's
 * SocketSubscriber) following the feed: from `cursor` of `epoch` until it is stopped, then
 * `ended` with the epoch and the id of the last message written, where the client resumes
 * from. The first thing written is an `epoch` event naming the feed served; a cursor of
 * another epoch then gets a `reset` carrying this feed's epoch, and the history from the
 * start. Its subclass writes to the client: the four abstract methods.
 *
 * Two paths, one client at a time on either:
 *
 * - **Live** (a client that keeps up): its cursor is the feed's newest id and its buffer
 *   has room. Each publish is written to it from the feed's own notification, in the same
 *   synchronous step: the subclass writes the message as encoded once for every client of
 *   its format, and nothing is read, awaited or allocated for this client. What a bare
 *   broadcast server does, with the cursor checked first.
 * - **Pull** (a client that is behind, replaying, or waiting for a drain): each round asks
 *   the feed for everything after the last message written, writes it, and waits. A client
 *   that reads slowly is simply waited for, with at most a buffer's worth unsent (the
 *   subclass says when its buffer is full: Node's 16 KiB for an HTTP response,
 *   STREAM_HIGH_WATER_BYTES for a WebSocket); when it falls behind the history, the next
 *   read says so with a gap.
 *
 * A client goes live only when a round leaves it caught up, and the check (its cursor is
 * the feed's newest id, of the feed's epoch) and the join are one synchronous step, so no
 * publish can fall between them; it leaves at the first publish it cannot take as the
 * next one (an id that does not follow, another epoch: the pull path then reads the gap
 * or the reset) or that fills its buffer. So memory per client is bounded, nothing is
 * skipped silently, and every message is written once per cursor. A client that stops
 * reading altogether is the subclass's to drop: its `drained()` never resolves, so it stops
 * the client ('slow').
 *
 * Between publishes a client that keeps up holds no promise, timer or closure here: the
 * pull path runs only while there is something to read or a drain to wait for, and the
 * feed's notification (`published`) and the stop start it again. The stop is a field and a
 * method, not an AbortController (whose EventTarget is about 1 KB a connection once a
 * listener is on it), and the follow's state is this object's own fields, not an object
 * of its own: ten thousand idle clients are ten thousand of these and nothing more.
 * Shutdown's last words are made into a promise only when shutdown asks for them.
 */
export abstract class FeedClient implements FeedSubscriber, LastWords {
  /** Why the client was stopped; undefined until then. */
  stopReason: StopReason | undefined;
  #stopWaiting: (() => void) | undefined;
  #lastWordsLeft: (() => void) | undefined;
  // The follow's yes-or-no state (CLOSED, DIRTY, LIVE...), a bit each in one small
  // integer: six fields of their own would cost every idle connection 40 bytes more.
  // DIRTY to start with: nothing has been read yet.
  #flags = DIRTY;
  // The id of the last message written. Without a cursor: the newest message this node
  // holds, fixed with its epoch before any await so that whatever is published once the
  // client is connected reaches it.
  #sent = 0;
  // The epoch `#sent` belongs to. None (a bare cursor, typed by hand) is taken as this
  // feed's by the first read, which then names it.
  #sentEpoch: string | undefined;

  constructor(readonly context: TransportContext) {}

  /**
   * Writes a message of the feed `epoch` (its payload is `encode(message)`); returns false
   * when the client's buffer is full. On the live path it is called from the feed's
   * notification for every client that keeps up, one after another: it should write the
   * bytes encoded once for every client of its format, not encode them again.
   */
  abstract message(message: Message, epoch: string): boolean;
  /** Writes a control event; returns false when the client's buffer is full. */
  abstract control(event: ControlEvent): boolean;
  /** Resolves once the client has taken what was written. */
  abstract drained(): Promise<void>;
  /** The follow is over (the client was stopped): the client resumes from `position`. */
  abstract ended(position: FeedPosition): void;

  get stopped(): boolean {
    return this.stopReason !== undefined;
  }

  #has(flag: number): boolean {
    return (this.#flags & flag) !== 0;
  }

  #mark(flag: number, on: boolean): void {
    this.#flags = on ? this.#flags | flag : this.#flags & ~flag;
  }

  /**
   * Ends the follow with `reason` (a second stop changes nothing). A pull in progress sees
   * it after its await; otherwise the end comes on a later tick, so that the caller of
   * stop() finishes what it was doing first.
   */
  stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.#mark(LIVE, false);
    this.#stopWaiting?.();
    if (this.#has(FOLLOWING) && !this.#has(PULLING)) void Promise.resolve().then(() => this.#end());
  }

  /** The client hung up: its follow stops, and shutdown has nothing left to wait for. */
  hungUp(): void {
    this.#mark(CLOSED, true);
    this.stop('hangup');
    this.#lastWordsLeft?.();
  }

  /**
   * Holds the connection for shutdown, known by `key` (its last words: the stop with
   * 'shutdown', then `lastWordsSaid()` or the hang-up), and follows the feed from `cursor`
   * of `epoch` into it until it stops.
   */
  protected follow(key: ConnectionKey, cursor: number | undefined, epoch: string | undefined): void {
    this.context.hold(key, this);
    const { feed } = this.context;
    this.#sent = cursor ?? feed.lastId;
    this.#sentEpoch = cursor === undefined ? feed.epoch : epoch;
    feed.subscribe(this);
    this.#mark(FOLLOWING, true);
    this.control({ type: 'epoch', epoch: feed.epoch });
    void this.#pull();
  }

  /** The last words have been handed to the kernel: shutdown may go on. */
  protected lastWordsSaid(): void {
    this.#lastWordsLeft?.();
  }

  /** The feed's notification: written here when the client is live and it is the next message, else pulled. */
  published(message: Message): void {
    const { feed } = this.context;
    if (this.#has(LIVE) && !this.stopped) {
      if (message.id === this.#sent + 1 && this.#sentEpoch === feed.epoch) {
        this.#sent = message.id;
        if (this.message(message, feed.epoch)) return;
        this.#mark(STALLED, true);
      }
      this.#mark(LIVE, false);
    }
    this.#mark(DIRTY, true);
    if (!this.#has(PULLING)) void this.#pull();
  }

  /** Shutdown's call: the stop with 'shutdown', resolved once the last words are said or the client is gone. */
  sayLastWords(): Promise<void> {
    this.stop('shutdown');
    return this.#has(CLOSED) ? Promise.resolve() : new Promise<void>((resolve) => (this.#lastWordsLeft = resolve));
  }

  /** Resolves when `promise` settles or at the stop, whichever comes first (one wait at a time). */
  async #until(promise: Promise<void>): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      this.#stopWaiting = resolve;
      promise.then(resolve, resolve);
    });
    this.#stopWaiting = undefined;
  }

  /** Rounds of the pull path until the client is caught up (then live) or stopped (then ended). */
  async #pull(): Promise<void> {
    const { feed } = this.context;
    this.#mark(PULLING, true);
    try {
      while (!this.stopped) {
        if (this.#has(STALLED)) {
          // A wait for a drain ends at the drain or the stop, never at a publish: the
          // subclass keeps one drain wait (and its slow-client timer) at a time.
          await this.#until(this.drained());
          this.#mark(STALLED, false);
          continue;
        }
        if (!this.#has(DIRTY)) {
          // Caught up with what this node holds: live from the next publish on. A cursor
          // ahead of this node (another node served it) waits for the next publish instead.
          this.#mark(LIVE, this.#sent === feed.lastId && this.#sentEpoch === feed.epoch);
          return;
        }
        this.#mark(DIRTY, false);
        const batch = await feed.since(this.#sent, this.#sentEpoch);
        if (this.stopped) break;
        this.#sentEpoch = batch.epoch;
        let room = true;
        if (batch.reset) room = this.control({ type: 'reset', epoch: batch.epoch });
        if (batch.missed) room = this.control({ type: 'gap', missed: batch.missed }) && room;
        if (batch.reset || batch.missed) this.#sent = (batch.messages[0]?.id ?? batch.cursor + 1) - 1;
        for (const message of batch.messages) {
          if (this.stopped) break;
          room = this.message(message, batch.epoch) && room;
          this.#sent = message.id;
          if (!room) {
            await this.#until(this.drained());
            room = true;
            // Read again from `sent`: the history may have moved on meanwhile (a gap).
            this.#mark(DIRTY, true);
            break;
          }
        }
        if (!room) await this.#until(this.drained());
      }
    } finally {
      this.#mark(PULLING, false);
    }
    this.#end();
  }

  #end(): void {
    if (this.#has(ENDED)) return;
    this.#flags = (this.#flags & ~(FOLLOWING | LIVE)) | ENDED;
    const { feed } = this.context;
    feed.unsubscribe(this);
    this.ended({ epoch: this.#sentEpoch ?? feed.epoch, cursor: this.#sent });
  }
}

/** A polling answer: its body, and what it carries of the feed. */
export interface PollPage {
  /**
   * `{"messages":[...]}`, + `"epoch"` and `"cursor"` when the client cannot know them,
   * `"missed"`, `"reset"`, `"more"` (the contract's encodePollAnswer); or undefined when it
   * would tell the client nothing new (`204 No Content`, no body).
   */
  body: string | undefined;
  /** Messages in it. */
  messages: number;
  /** Bytes of message JSON in it. */
  payloadBytes: number;
}

/**
 * The JSON body of a polling answer, `{"messages":[...]}` (+ `"epoch"` unless it is the one
 * `asked`, `"cursor"` unless it is the last message's id, `"missed"` or `"reset"`: the
 * contract's encodePollAnswer), built from each message's own JSON so the payload bytes
 * inside it are known exactly. It carries at most `pageBytes` of message JSON, and always at least one
 * message, so a client progresses whatever the page size: a batch cut short says
 * `"more":true`, with the cursor at the last message in it. One answer (and one client
 * that does not read it) then costs a page of memory, not the whole history. For a client
 * that named the cursor and epoch it would be told (`asked`), with nothing new: no body.
 */
export function batchBody(
  batch: Batch,
  pageBytes = Number.POSITIVE_INFINITY,
  asked: { cursor?: number; epoch?: string } = {},
): PollPage {
  if (tellsNothingNew({ ...batch, messages: batch.messages.length }, asked)) {
    return { body: undefined, messages: 0, payloadBytes: 0 };
  }
  const page: string[] = [];
  let payloadBytes = 0;
  for (const message of batch.messages) {
    const { json, bytes } = encode(message);
    if (page.length > 0 && payloadBytes + bytes > pageBytes) break;
    page.push(json);
    payloadBytes += bytes;
  }
  const more = page.length < batch.messages.length;
  const lastMessageId = batch.messages[page.length - 1]?.id;
  const cursor = more ? (lastMessageId as number) : batch.cursor;
  const body = encodePollAnswer(
    { epoch: batch.epoch, cursor, messagesJson: page, lastMessageId, missed: batch.missed, reset: batch.reset, more },
    asked,
  );
  return { body, messages: page.length, payloadBytes };
}
