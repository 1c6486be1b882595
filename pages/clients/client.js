// What every technique's browser client shares: the cursor and its epoch, the connection
// state, the reconnect backoff, and the events the panels draw. Each technique's own file
// only says how to connect and how to hang up; read those first.

/** @typedef {{ id: number, ts: number, author: string, text: string }} Message */
/**
 * @typedef {{ type: 'epoch', epoch: string } | { type: 'gap', missed: number } | { type: 'reset', epoch: string }
 *   | { type: 'end', epoch: string, cursor: number, reason: string }} ControlEvent
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
 */

/** Reconnect backoff, ms: 1 s doubling to 5 s, each wait drawn from half to all of it. */
export const BACKOFF = Object.freeze({ firstMs: 1000, maxMs: 5000 });

export class FeedClient {
  /** The technique id of the server's API: `/api/<technique>`. */
  technique = '';
  /** @type {State} */
  state = 'CLOSED';
  /** Id of the last message received: where a reconnect resumes. */
  cursor = /** @type {number | undefined} */ (undefined);
  /**
   * The epoch of the feed `cursor` counts in: ids start again at 1 when the server's feed
   * starts over, so a cursor means nothing without it.
   */
  epoch = /** @type {string | undefined} */ (undefined);
  #attempt = 0;
  #retryTimer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
  #wanted = false;

  /**
   * @param {ClientHooks & { clientId: string, baseUrl?: string }} options
   */
  constructor(options) {
    this.hooks = options;
    this.clientId = options.clientId;
    this.baseUrl = options.baseUrl ?? location.origin;
  }

  /** URL of this technique's endpoint, with the cursor, its epoch and this client's id. */
  url(extra = '') {
    const url = new URL(`/api/${this.technique}`, this.baseUrl);
    if (this.cursor !== undefined) url.searchParams.set('since', String(this.cursor));
    if (this.cursor !== undefined && this.epoch !== undefined) url.searchParams.set('epoch', this.epoch);
    url.searchParams.set('client', this.clientId);
    return url.toString() + extra;
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

  // ---- called by the technique files ----

  /** @param {Message} message */
  receive(message) {
    // A message at or before the cursor was already shown: never show it twice.
    if (this.cursor !== undefined && message.id <= this.cursor) return;
    this.cursor = message.id;
    this.hooks.onMessage?.(message);
  }

  /**
   * Takes a polling answer, `{epoch, cursor, messages, missed?, reset?, more?}`: the same
   * for short and long polling. `more` says the answer was cut to a page and the rest waits.
   * @param {{ epoch: string, cursor: number, messages: Message[], missed?: number, reset?: boolean, more?: boolean }} answer
   */
  receiveBatch(answer) {
    if (answer.reset) this.control({ type: 'reset', epoch: answer.epoch });
    if (answer.missed) this.control({ type: 'gap', missed: answer.missed });
    for (const message of answer.messages) this.receive(message);
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

  /** The connection has proven to work (an answer, an open event): reset the backoff. */
  opened() {
    this.#attempt = 0;
    this.setState('OPEN');
  }

  /** The connection failed or ended: come back after a jittered, growing wait. */
  retry() {
    if (!this.#wanted) return;
    clearTimeout(this.#retryTimer);
    const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** this.#attempt);
    const wait = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.#attempt += 1;
    this.setState('CONNECTING');
    this.log(`reconnecting in ${wait} ms from cursor ${this.cursor === undefined ? '(live)' : `${this.epoch ?? '?'}.${this.cursor}`}`);
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

  /** @param {string} line */
  log(line) {
    this.hooks.onLog?.(line);
  }

  // ---- what each technique implements ----

  /** Opens the connection (or starts the polling loop) from `this.cursor`. */
  connect() {
    throw new Error('connect() is the technique file\'s to write');
  }

  /** Closes the connection or stops the loop, without reconnecting. */
  disconnect() {
    throw new Error('disconnect() is the technique file\'s to write');
  }
}
