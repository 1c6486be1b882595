// What every technique's browser client shares: the cursor and its epoch, the connection
// state, the reconnect backoff, and the events the panels draw. Each technique's own file
// only says how to connect and how to hang up; read those first. What goes over the wire
// (the message, the control events, each format's parser, the backoff) is the server's
// own contract, loaded from /contract/: the same modules the server and the bench run.
import { reconnectDelay } from '/contract/backoff.js';
import { cursorQuery, messageOf } from '/contract/feed.js';
import { pollItems } from '/contract/formats/poll.js';

/**
 * @import { ControlEvent, FeedItem, Message } from '/contract/feed.js'
 * @import { PollAnswer } from '/contract/formats/poll.js'
 * @import { Technique } from '/contract/techniques.js'
 */
/** @typedef {'CONNECTING' | 'OPEN' | 'CLOSING' | 'CLOSED'} State */
/**
 * One HTTP request or connection, for the wire timeline: `end` is undefined while it lasts.
 * @typedef {{ kind: 'request' | 'connection', start: number, end?: number }} Span
 */

/**
 * @typedef {object} ClientHooks
 * @property {(message: Message) => void} [onMessage]
 * @property {(event: ControlEvent) => void} [onEvent]
 * @property {(state: State) => void} [onState]
 * @property {(span: Span) => void} [onSpan]  called when a span starts and again when it ends
 * @property {(line: string) => void} [onLog]
 * @property {() => void} [onSend]  the client sent a frame of its own over its connection (a two-way technique)
 */

/**
 * What a client is given: its technique (the registry's entry: a client never names its
 * own, so a copy of its file under another id is a working technique), the page's client
 * id, and the hooks the panel draws with.
 * @typedef {ClientHooks & { technique: Readonly<Technique>, clientId: string, baseUrl?: string }} ClientOptions
 */

export class FeedClient {
  /** @type {State} */
  state = 'CLOSED';
  /** Id of the last message received: where a reconnect resumes. */
  cursor = /** @type {number | undefined} */ (undefined);
  /**
   * The epoch of the feed `cursor` counts in: ids start again at 1 when the server's feed
   * starts over, so a cursor means nothing without it.
   */
  epoch = /** @type {string | undefined} */ (undefined);
  /**
   * Pause between requests, ms, for a client whose technique polls when idle
   * (`capabilities.pollsWhenIdle`); the page's interval knob sets it. Others ignore it.
   */
  intervalMs = 1000;
  /**
   * What the client last said before it began reconnecting ("poll failed: HTTP 502",
   * "closed: 1006 …"): the panel shows it when the attempts keep failing, as the log line
   * itself is soon overwritten by the next "reconnecting in …".
   */
  lastFailure = '';
  #attempt = 0;
  #lastLine = '';
  #retryTimer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
  #wanted = false;

  /** @param {ClientOptions} options */
  constructor(options) {
    this.technique = options.technique;
    this.hooks = /** @type {ClientHooks} */ (options);
    this.clientId = options.clientId;
    this.baseUrl = options.baseUrl ?? location.origin;
  }

  /**
   * The nickname this client is in the chat under: the server lists it as online while
   * the client holds a request or connection. Undefined: not in the chat.
   * @type {string | undefined}
   */
  nick = undefined;

  /** URL of this technique's endpoint, `/api/<id>`, with the cursor, its epoch, this client's id and nickname. */
  url() {
    const url = new URL(`/api/${this.technique.id}`, this.baseUrl);
    url.search = cursorQuery({ cursor: this.cursor, epoch: this.epoch, client: this.clientId });
    if (this.nick !== undefined) url.searchParams.set('nick', this.nick);
    return url.toString();
  }

  /** Starts receiving; `since` omitted means live only. */
  open(since = this.cursor) {
    this.cursor = since;
    this.#wanted = true;
    this.setState('CONNECTING');
    this.connect();
  }

  /** Stops for good (the page is leaving, or the user paused). */
  close() {
    this.#wanted = false;
    clearTimeout(this.#retryTimer);
    this.setState('CLOSING');
    this.disconnect();
    this.setState('CLOSED');
  }

  /** Cuts the connection as a network fault would; the client comes back by itself. */
  drop() {
    this.log('connection dropped');
    this.disconnect();
    this.retry();
  }

  /**
   * Publishes over this client's own connection, for a technique that is `twoWay`.
   * Resolves with the id the server stored, rejects with the server's reason; null when
   * the connection is not open (publish another way).
   * @param {string} _author @param {string} _text
   * @returns {Promise<number> | null}
   */
  publish(_author, _text) {
    throw new Error(`the ${this.technique.title} client cannot publish over its connection`);
  }

  // ---- called by the technique files ----

  /** @param {Message} message */
  receive(message) {
    // A message at or before the cursor was already shown: never show it twice.
    if (this.cursor !== undefined && message.id <= this.cursor) return;
    this.cursor = message.id;
    this.hooks.onMessage?.(message);
  }

  /** What a wire-format parser found: a message or a control event. @param {FeedItem} item */
  receiveItem(item) {
    if (item.kind === 'message') this.receive(messageOf(item));
    else this.control(item.event);
  }

  /**
   * Takes a polling answer (read whole with the contract's `readPollResponse`): the same for
   * short and long polling. `more` says the answer was cut to a page and the rest waits.
   * @param {PollAnswer} answer
   */
  receiveBatch(answer) {
    for (const item of pollItems(answer)) this.receiveItem(item);
    this.epoch = answer.epoch;
    this.cursor = answer.cursor;
  }

  /** @param {ControlEvent} event */
  control(event) {
    if (event.type === 'epoch') {
      // A stream names its feed first. Kept only when this client has no epoch yet: one
      // that differs is followed by a reset, which is what replaces it.
      this.epoch ??= event.epoch;
      this.log(`feed epoch ${event.epoch}`);
      return;
    }
    this.log(event.type === 'gap' ? `gap: ${event.missed} messages are gone from the history` : `event: ${event.type}`);
    if (event.type === 'reset') {
      // Another feed: its ids say nothing about the old one's. Take it from the start.
      this.epoch = event.epoch;
      this.cursor = 0;
    }
    this.hooks.onEvent?.(event);
  }

  /** Attempts that failed in a row since the connection last worked. */
  get failedAttempts() {
    return this.#attempt;
  }

  /** The connection has proven to work (an answer, an open event): reset the backoff. */
  opened() {
    this.#attempt = 0;
    this.setState('OPEN');
  }

  /** The connection failed or ended: come back after a jittered, growing wait (the contract's backoff, the bench's too). */
  retry() {
    if (!this.#wanted) return;
    clearTimeout(this.#retryTimer);
    this.lastFailure = this.#lastLine;
    const wait = Math.round(reconnectDelay(this.#attempt));
    this.#attempt += 1;
    this.setState('CONNECTING');
    this.log(
      `reconnecting in ${wait} ms from cursor ${this.cursor === undefined ? '(live)' : `${this.epoch ?? '?'}.${this.cursor}`}`,
    );
    this.#retryTimer = setTimeout(() => this.#wanted && this.connect(), wait);
  }

  /** @param {Span['kind']} kind @returns {Span} */
  spanStart(kind) {
    const span = { kind, start: performance.now(), end: undefined };
    this.hooks.onSpan?.(span);
    return span;
  }

  /** @param {Span} span */
  spanEnd(span) {
    if (span.end !== undefined) return;
    span.end = performance.now();
    this.hooks.onSpan?.(span);
  }

  /** @param {State} state */
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.hooks.onState?.(state);
  }

  /** A frame of the client's own went out over its connection (the timeline's second lane). */
  sent() {
    this.hooks.onSend?.();
  }

  /** @param {string} line */
  log(line) {
    this.#lastLine = line;
    this.hooks.onLog?.(line);
  }

  // ---- what each technique implements ----

  /** Opens the connection (or starts the polling loop) from `this.cursor`. */
  connect() {
    throw new Error("connect() is the technique file's to write");
  }

  /** Closes the connection or stops the loop, without reconnecting. */
  disconnect() {
    throw new Error("disconnect() is the technique file's to write");
  }
}
