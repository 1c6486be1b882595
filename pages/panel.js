// One panel of the side-by-side page: a technique's heading, its live wire figures, its
// timeline and messages, and its own client, loaded by id from /clients/<id>.js. A
// technique registered without a working client file gets a panel that says so.
import { SYSTEM_AUTHOR } from '/contract/feed.js';
import { FeedClient } from './clients/client.js';
import { describeProtocols } from './protocol.js';
import { PredictionBlock } from './prediction.js';
import { ENDED_KEY, Timeline, TIMELINE_COLORS, timelineLegend } from './timeline.js';
import { WAITING_BADGE, WAITING_SHOWN_AFTER_MS } from './waiting.js';

/** @import { Message } from '/contract/feed.js' */
/** @import { Technique } from '/contract/techniques.js' */

/** Messages listed per panel (older ones scroll away). */
const LIST_LENGTH = 30;
/**
 * How long a panel may lag behind the newest message another panel has shown before it
 * says so, ms: longer than any delivery on a working path (a satellite profile's trip
 * included), short enough that a class sees it while still looking.
 */
export const STALL_AFTER_MS = 5000;
/** Failed attempts in a row before a panel shows why: one is a blip, two are a pattern. */
const FAILURES_SHOWN_AFTER = 2;
/** Reconnects within a minute before a panel says something cuts its connections. */
const RECONNECTS_SHOWN_AFTER = 3;
const RECONNECTS_WINDOW_MS = 60_000;

/**
 * An element with its attributes and text.
 * @param {string} tag @param {Record<string, string>} [attributes] @param {string} [text]
 */
export function el(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

/**
 * Bytes in the pages' one convention: B, kB = 1000 B, MB = 1,000,000 B (the footer says
 * so), each figure held to its unit by a no-break space.
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  if (bytes < 10_000) return `${bytes}\u00a0B`;
  if (bytes < 10_000_000) return `${(bytes / 1000).toFixed(1)}\u00a0kB`;
  return `${(bytes / 1_000_000).toFixed(1)}\u00a0MB`;
}

/** @param {number[]} values */
function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A delay, its unit held to it by a no-break space; – when there is none yet. @param {number} ms */
function formatMs(ms) {
  return Number.isFinite(ms) ? `${ms.toFixed(ms < 10 ? 1 : 0)}\u00a0ms` : '–';
}

/**
 * @typedef {object} PanelOptions
 * @property {Readonly<Technique>} technique  its registry entry
 * @property {HTMLElement} root               where the panel goes
 * @property {string} clientId                the page's client id, which the server's figures are kept under
 * @property {() => number} serverNow         the server's clock now, epoch ms (for delivery delays)
 * @property {(ts: number) => void} [heard]  told each message's `ts` as it arrives, before its delay is read (ServerClock.heard)
 * @property {() => number} [rttMs]            the best round trip to the server seen, ms (for the models)
 */

// ---- the timeline's key: what each of this panel's marks means ----

/**
 * A short key under the timeline, one swatch per mark this technique draws.
 * @param {Readonly<Technique>} technique
 */
function timelineKey(technique) {
  const key = el('p', { class: 'timeline-key', 'data-role': 'timeline-key' });
  for (const entry of timelineLegend(technique)) addToKey(key, entry);
  return key;
}

/**
 * One swatch and its words in a timeline's key, once.
 * @param {HTMLElement} key @param {{ mark: keyof typeof TIMELINE_COLORS, text: string }} entry
 */
function addToKey(key, { mark, text }) {
  if (key.querySelector(`[data-mark="${mark}"]`)) return;
  const item = el('span', { 'data-mark': mark });
  const swatch = el('i', { class: 'mark' });
  swatch.style.setProperty('--mark', TIMELINE_COLORS[mark]);
  item.append(swatch, document.createTextNode(text));
  key.append(item);
}

export class Panel {
  /**
   * The technique's client: null until its file is loaded, and for good when it failed to.
   * @type {FeedClient | null}
   */
  client = null;
  /** @type {number[]} */
  #delays = [];
  #received = 0;
  /** The highest message id this panel has shown: how the page tells a panel that lags. */
  newestId = 0;
  /** Since when (performance.now()) another panel has shown a message this one has not. */
  #behindSince = /** @type {number | undefined} */ (undefined);
  /** What the server counts as written to this page's client of this technique, bytes. */
  #bytesDown = 0;
  /** When (performance.now()) a working connection was lost, within the last minute. */
  #reconnects = /** @type {number[]} */ ([]);
  /** What the client said as its connection was last lost. */
  #lastLoss = '';
  /** The client's request or connection that has not ended yet, if any. @type {import('./clients/client.js').Span | undefined} */
  #openSpan = undefined;
  /** Whether the badge says the client waits for a connection, rather than its state. */
  #waiting = false;

  /** @param {PanelOptions} options */
  constructor({ technique, root, clientId, serverNow, heard, rttMs }) {
    this.technique = technique;
    this.clientId = clientId;
    this.serverNow = serverNow;
    this.heard = heard;
    this.section = el('section', { class: 'panel', 'data-technique': technique.id });
    // CSSOM, not a style attribute: the page's CSP allows no inline styles.
    this.section.style.setProperty('--technique', technique.colour);
    const header = el('header');
    const title = el('h2');
    title.append(el('a', { href: `/techniques/${technique.id}.html`, title: technique.summary }, technique.title));
    this.stateBadge = el('span', { class: 'state', 'data-role': 'state' }, 'CLOSED');
    header.append(title, this.stateBadge);

    /** @type {Record<string, HTMLElement>} */
    this.figures = {};
    const table = el('dl', { class: 'figures' });
    for (const [key, label] of [
      ['requests', 'HTTP requests'],
      ['down', 'bytes down'],
      ['up', 'bytes up'],
      ['messages', 'messages'],
      ['delay', 'delay median / last'],
      ['protocol', 'protocol'],
    ]) {
      // No delay before the first message: a dash, not a 0 that reads as instant.
      const value = el('dd', { 'data-figure': key }, key === 'delay' ? '–' : '0');
      table.append(el('dt', {}, label), value);
      this.figures[key] = value;
    }

    const canvas = /** @type {HTMLCanvasElement} */ (
      el('canvas', {
        // A two-way technique's timeline has a lane more: what the client sent.
        class: technique.capabilities.twoWay ? 'timeline two-lanes' : 'timeline',
        'aria-label': `${technique.title} wire timeline`,
      })
    );
    this.timeline = new Timeline(canvas, technique);
    this.timelineKey = timelineKey(technique);

    const controls = el('div', { class: 'controls' });
    this.dropButton = /** @type {HTMLButtonElement} */ (
      el('button', { type: 'button', 'data-action': 'drop', disabled: '' }, 'Drop connection')
    );
    this.pauseButton = /** @type {HTMLButtonElement} */ (
      el('button', { type: 'button', 'data-action': 'pause', disabled: '' }, 'Pause')
    );
    controls.append(this.dropButton, this.pauseButton);

    this.list = el('ol', { class: 'messages', 'data-role': 'messages' });
    this.logLine = el('p', { class: 'log', 'data-role': 'log' });
    // Silent trouble made visible: attempts that keep failing, or nothing arriving while
    // the other panels receive (a proxy holding a stream shows no error anywhere).
    this.health = el('p', { class: 'health', 'data-role': 'health', role: 'status', hidden: '' });
    this.section.append(header, table, canvas, this.timelineKey, controls, this.logLine, this.health, this.list);
    root.append(this.section);
    this.figures.protocol.textContent = technique.capabilities.upgrades
      ? 'http/1.1 upgrade'
      : technique.capabilities.streams
        ? 'shown when a stream ends'
        : 'shown when a request ends';
    // Predicted beside measured, under the live figures (pages/prediction.js).
    this.prediction = new PredictionBlock(technique);
    this.rttMs = rttMs ?? (() => Number.POSITIVE_INFINITY);
    table.after(this.prediction.element);
  }

  /**
   * Shows the protocols this panel's finished requests went over (Resource Timing). An
   * upgrade has no entry: its label stays.
   * @param {Record<string, number>} counts  requests per protocol
   */
  showProtocols(counts) {
    if (this.technique.capabilities.upgrades) return;
    this.figures.protocol.textContent = describeProtocols(counts);
    this.figures.protocol.dataset.protocols = Object.keys(counts).join(' ');
  }

  /**
   * Loads the technique's client from /clients/<id>.js and wires it to the panel; a file
   * that is missing, broken, or exports no `Client` leaves the panel showing why.
   * @returns {Promise<FeedClient | null>}
   */
  async load() {
    const path = `/clients/${this.technique.id}.js`;
    try {
      const module = await import(path);
      if (!(module.Client?.prototype instanceof FeedClient))
        throw new Error(`${path} exports no Client (a FeedClient subclass)`);
      /** @type {typeof FeedClient} */
      const Client = module.Client;
      this.client = this.#connectTo(Client);
      return this.client;
    } catch (error) {
      this.#fail(`No client for ${this.technique.title}: ${/** @type {Error} */ (error).message}`);
      return null;
    }
  }

  /** @param {typeof FeedClient} Client */
  #connectTo(Client) {
    const client = new Client({
      technique: this.technique,
      clientId: this.clientId,
      onMessage: (message) => this.#show(message),
      onEvent: (event) => {
        if (event.type === 'end' && event.reason === 'limit') {
          this.timeline.ended();
          addToKey(this.timelineKey, ENDED_KEY);
        }
        if (event.type === 'gap') this.#notice(`${event.missed} messages were too old to recover`);
        if (event.type === 'reset') {
          this.newestId = 0;
          this.#notice(`the feed started over (epoch ${event.epoch}): its history from the start`);
        }
      },
      onState: (state) => {
        // The log line, at this moment, is what the client said about the loss.
        if (this.stateBadge.dataset.state === 'OPEN' && state === 'CONNECTING') {
          this.#reconnects.push(performance.now());
          this.#lastLoss = this.logLine.textContent ?? '';
        }
        this.prediction.state(state);
        // Open again: "reconnecting in … ms" is over, and must not stay under an OPEN badge.
        if (state === 'OPEN' && this.logLine.textContent?.startsWith('reconnecting in'))
          this.logLine.textContent = 'open again';
        this.#showState();
      },
      onSpan: (span) => {
        this.timeline.span(span);
        if (span.end === undefined) this.#openSpan = span;
        else if (this.#openSpan === span) {
          this.#openSpan = undefined;
          this.#waiting = false;
          this.#showState();
        }
      },
      onLog: (line) => {
        this.logLine.textContent = line;
      },
      onSend: () => this.timeline.sent(),
    });
    this.dropButton.disabled = false;
    this.pauseButton.disabled = false;
    this.dropButton.addEventListener('click', () => client.drop());
    this.pauseButton.addEventListener('click', () => {
      if (client.state === 'CLOSED') {
        client.open();
        this.pauseButton.textContent = 'Pause';
      } else {
        client.close();
        this.pauseButton.textContent = 'Resume';
      }
    });
    return client;
  }

  /** The badge: the client's state, or that its request waits for a connection. */
  #showState() {
    const state = this.client?.state ?? this.stateBadge.dataset.state ?? 'CLOSED';
    const text = this.#waiting ? WAITING_BADGE : state;
    if (this.stateBadge.textContent !== text) this.stateBadge.textContent = text;
    this.stateBadge.dataset.state = this.#waiting ? 'WAITING' : state;
  }

  /**
   * How long the client's request has waited for an answer the server gives at once (a
   * poll it does not hold), ms; 0 when none waits. A held request or a stream that has not
   * opened is not counted: a held poll's silence is the technique's, and a buffering proxy
   * holds a stream's first bytes too (the lag check below speaks for those).
   * @param {number} now
   */
  #waitedMs(now) {
    const span = this.#openSpan;
    if (span?.kind !== 'request' || this.technique.capabilities.holdsRequest) return 0;
    return now - span.start;
  }

  /** @param {string} text */
  #fail(text) {
    this.stateBadge.textContent = 'NO CLIENT';
    this.stateBadge.dataset.state = 'ERROR';
    const error = el('p', { class: 'error', 'data-role': 'error', role: 'alert' }, text);
    this.logLine.replaceWith(error);
    console.error(text);
  }

  /** The median delay of the messages this panel has shown, ms; null before the first (the classroom's report). */
  get delayMedian() {
    return this.#delays.length === 0 ? null : median(this.#delays);
  }

  /** @param {Message} message */
  #show(message) {
    this.heard?.(message.ts);
    const delay = this.serverNow() - message.ts;
    this.#delays.push(delay);
    if (this.#delays.length > 200) this.#delays.shift();
    this.#received += 1;
    this.newestId = Math.max(this.newestId, message.id);
    this.#behindSince = undefined;
    this.figures.messages.textContent = String(this.#received);
    this.figures.delay.textContent = `${formatMs(median(this.#delays))} / ${formatMs(delay)}`;
    this.timeline.tick();
    this.prediction.message(message, delay);
    // The server's own words (who joined, who left) have no author a person could use.
    const system = message.author === SYSTEM_AUTHOR;
    const item = el('li', { 'data-id': String(message.id), ...(system && { class: 'system' }) });
    item.append(
      el('b', {}, system ? 'server' : message.author),
      document.createTextNode(' '),
      el('span', {}, message.text),
    );
    this.list.prepend(item);
    while (this.list.children.length > LIST_LENGTH) this.list.lastElementChild?.remove();
  }

  /** @param {string} text */
  #notice(text) {
    const item = el('li', { class: 'notice' }, text);
    this.list.prepend(item);
  }

  /**
   * Says what is wrong when nothing shows it: called every second with the newest message
   * id any panel has shown. A client that keeps failing shows its last reason; one that
   * lags (connected, maybe, but nothing arrives) shows for how long.
   * @param {number} newestAnywhere
   */
  watch(newestAnywhere) {
    const client = this.client;
    const now = performance.now();
    if (!client || client.state === 'CLOSED') return this.#say('');
    if (this.newestId >= newestAnywhere) this.#behindSince = undefined;
    else this.#behindSince ??= now;
    const waited = this.#waitedMs(now);
    const waiting = waited > WAITING_SHOWN_AFTER_MS;
    if (waiting !== this.#waiting) {
      this.#waiting = waiting;
      this.#showState();
    }
    if (waiting)
      return this.#say(
        `no answer for ${Math.round(waited / 1000)} s to a request the server answers at once: the browser is most likely holding it until one of its six connections per host (HTTP/1.1) is free. Another tab of this server?`,
      );
    if (client.state === 'CONNECTING' && client.failedAttempts >= FAILURES_SHOWN_AFTER)
      return this.#say(
        `${client.failedAttempts} attempts failed in a row; the last: ${client.lastFailure || 'no reason given'}`,
      );
    // A poller asks once an interval: it lags by up to one, and that is not trouble.
    const allowance = STALL_AFTER_MS + (this.technique.capabilities.pollsWhenIdle ? client.intervalMs : 0);
    const lagging = this.#behindSince === undefined ? 0 : now - this.#behindSince;
    if (lagging > allowance)
      return this.#say(
        `nothing arrived for ${Math.round(lagging / 1000)} s while other panels show up to #${newestAnywhere}, though the server has written ${formatBytes(this.#bytesDown)} to this client: something on the path holds them (a buffering proxy?)`,
      );
    // Each reconnect is logged, and the log line soon moves on: only a count shows a pattern.
    this.#reconnects = this.#reconnects.filter((at) => now - at < RECONNECTS_WINDOW_MS);
    if (this.#reconnects.length >= RECONNECTS_SHOWN_AFTER)
      return this.#say(
        `reconnected ${this.#reconnects.length} times in the last minute, the last after "${this.#lastLoss || 'no reason given'}": something on the path cuts connections (an idle timeout?)`,
      );
    this.#say('');
  }

  /** @param {string} text empty to hide */
  #say(text) {
    this.health.hidden = text === '';
    if (this.health.textContent !== text) this.health.textContent = text;
  }

  /** @param {any} counters the server's counters for this page's client of this technique */
  update(counters) {
    if (!counters) return;
    this.figures.requests.textContent = String(counters.httpRequests);
    this.#bytesDown = counters.bytesOut.headers + counters.bytesOut.body;
    this.figures.down.textContent = formatBytes(this.#bytesDown);
    this.figures.up.textContent = formatBytes(counters.bytesIn.headers + counters.bytesIn.body);
    if (this.client)
      this.prediction.update(counters, {
        intervalMs: this.client.intervalMs,
        epoch: this.client.epoch,
        rttMs: this.rttMs(),
      });
  }
}
