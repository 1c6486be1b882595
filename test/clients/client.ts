/**
 * What every test client is, whatever its wire format: a subscriber of one technique that
 * keeps what it received and where it would resume, the way a real client must.
 */
import { type ControlEvent, type Message, cursorQuery } from '../../server/contract/feed.js';
import type { Technique } from '../../server/contract/techniques.js';
import { until } from '../support.ts';

/** Where a client is: the epoch of the feed it follows and the id of its last message. */
export interface ClientPosition {
  epoch?: string;
  cursor?: number;
}

/** A subscriber of one technique, as the tests see it. */
export interface FeedClient {
  /** The id of the technique it subscribes to. */
  readonly technique: string;
  /**
   * Whether it comes back by itself, with its cursor, when its connection is cut (every
   * poll is a new request; EventSource reconnects with Last-Event-ID). The others stay down.
   */
  readonly reconnects: boolean;
  /** Every message received, in arrival order, duplicates included. */
  readonly messages: Message[];
  /** Every control event received but the stream's opening `epoch` (gap, reset, end). */
  readonly events: ControlEvent[];
  /**
   * Where it would resume: kept the way a real client must keep it. The epoch is taken
   * from the first answer or the stream's `epoch` event when it had none, and replaced
   * only by a `reset`, which also sends the cursor back to 0.
   */
  readonly position: ClientPosition;
  /** Resolves once `count` messages have arrived. */
  received(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** The cursor to start from; omitted means live only. */
  since?: number;
  /** The epoch `since` belongs to; omitted sends a bare cursor, as a hand-typed `since=5`. */
  epoch?: string;
  /** Event streams only: sent as the Last-Event-ID header of the first request (`<epoch>.<id>` or a bare id). */
  lastEventId?: number | string;
  /** Techniques that poll when idle only: pause between polls, ms. */
  pollIntervalMs?: number;
  /** Techniques that upgrade only: the subprotocols offered, in order; none offered when omitted. */
  subprotocols?: readonly string[];
  /** The chat: the client id and nickname every request names, so the server lists it as online. */
  chatter?: { client: string; nick: string };
}

/**
 * Opens a client of the server at `url` (no trailing slash). Resolves once it is
 * subscribed, so a message published after that must reach it.
 */
export type ClientFactory = (url: string, options: ClientOptions) => Promise<FeedClient>;

/** A wire format's client: opens a client of `technique`, whose endpoint is `/api/<id>`. */
export type WireClient = (technique: Technique, url: string, options: ClientOptions) => Promise<FeedClient>;

/** The state every client keeps, and how it takes what arrives. */
export interface ClientState extends Omit<FeedClient, 'close' | 'reconnects'> {
  /** Takes a message: kept, and the cursor moves to it. */
  take(message: Message): void;
  /** Takes a control event: `epoch` names the feed when the client had none; `reset` replaces it. */
  control(event: ControlEvent): void;
}

/** A new client state for `technique`, starting where `options` say. */
export function clientState(technique: Technique, options: ClientOptions): ClientState {
  const messages: Message[] = [];
  const events: ControlEvent[] = [];
  const position: ClientPosition = { epoch: options.epoch, cursor: options.since };
  return {
    technique: technique.id,
    messages,
    events,
    position,
    received: (count, timeoutMs = 5000) =>
      until(
        () => messages.length >= count,
        () => `${count} messages on ${technique.id} (have ${messages.length})`,
        timeoutMs,
      ),
    take(message) {
      messages.push(message);
      position.cursor = message.id;
    },
    control(event) {
      if (event.type === 'epoch') {
        // Not adopted over an epoch the client has: if it differs, a reset follows.
        position.epoch ??= event.epoch;
        return;
      }
      events.push(event);
      if (event.type === 'reset') {
        position.epoch = event.epoch;
        position.cursor = 0;
      }
    },
  };
}

/** The endpoint of `technique` on the server at `url`, with the query of a first request. */
export function endpoint(url: string, technique: Technique, options: ClientOptions): string {
  const params = new URLSearchParams(cursorQuery({ cursor: options.since, epoch: options.epoch }));
  if (options.chatter) {
    params.set('client', options.chatter.client);
    params.set('nick', options.chatter.nick);
  }
  const query = params.toString();
  return `${url}/api/${technique.id}${query ? `?${query}` : ''}`;
}
