// The seventh panel of the side-by-side page, "auto": a client that picks the best
// technique the network allows (auto-client.js), with the class's switches that break a
// technique for this panel alone (the server's /api/blocks for its own client id), what it
// tried, what that cost, and the messages it showed, each once.
import { el } from '../panel.js';
import { AutoClient } from './auto-client.js';
import { STRATEGIES, fallbackOrder, upgradePair } from '/contract/strategies.js';

/**
 * @import { Technique } from '/contract/techniques.js'
 * @import { AutoReport } from './auto-client.js'
 * @import { Strategy } from '/contract/strategies.js'
 */

/** How often the panel asks the server what its attempts cost, ms (the panels' own rate). */
const REPORT_EVERY_MS = 1000;
/** Messages listed (older ones scroll away). */
const LIST_LENGTH = 30;
/** What a strategy does, in a line. */
const STRATEGY_WORDS = {
  fallback: 'the best first, the next when it fails (Socket.IO 0.x, SockJS, Pusher)',
  upgrade: 'long polling at once, WebSocket probed beside it and taken when it works (Engine.IO)',
};

/**
 * @typedef {object} AutoPanelOptions
 * @property {HTMLElement} root
 * @property {readonly Readonly<Technique>[]} techniques
 * @property {string} clientId      the page's client id: the panel's own ids are made from it
 * @property {() => number} serverNow
 * @property {Strategy} [strategy]
 */

export class AutoPanel {
  /** @type {AutoClient | null} */
  client = null;
  #runs = 0;
  #timer = /** @type {ReturnType<typeof setInterval> | undefined} */ (undefined);

  /** @param {AutoPanelOptions} options */
  constructor(options) {
    this.options = options;
    const { techniques } = options;
    this.section = el('section', { class: 'auto-panel', 'data-role': 'auto' });
    const header = el('header');
    header.append(el('h2', {}, 'Auto: a client that falls back'));
    this.inUse = el('span', { class: 'state', 'data-role': 'in-use' }, '–');
    header.append(this.inUse);

    this.strategy = /** @type {HTMLSelectElement} */ (el('select', { 'data-role': 'strategy' }));
    for (const name of STRATEGIES) this.strategy.append(el('option', { value: name }, name));
    this.strategy.value = options.strategy ?? 'fallback';
    this.strategyWords = el('span', { class: 'log' });
    const restart = el('button', { type: 'button', 'data-action': 'restart' }, 'Restart');
    restart.addEventListener('click', () => this.restart());
    this.strategy.addEventListener('change', () => this.restart());
    const controls = el('div', { class: 'controls' });
    const strategyLabel = el('label', {}, 'strategy ');
    strategyLabel.append(this.strategy);
    controls.append(strategyLabel, restart, this.strategyWords);

    // One switch per technique this panel may use: what the network does to it.
    const blocks = el('fieldset', { class: 'blocks' });
    blocks.append(el('legend', {}, 'the network, for this panel: block a technique'));
    /** @type {Map<string, HTMLSelectElement>} */
    this.blocks = new Map();
    const used = new Set([...fallbackOrder(techniques), ...Object.values(upgradePair(techniques))]);
    for (const technique of techniques.filter((entry) => used.has(entry))) {
      const select = /** @type {HTMLSelectElement} */ (el('select', { 'data-block': technique.id }));
      const modes = technique.capabilities.holdsRequest ? ['none', 'refuse', 'buffer'] : ['none', 'refuse'];
      for (const mode of modes) select.append(el('option', { value: mode }, mode));
      select.addEventListener('change', () => this.#sendBlocks());
      const label = el('label', {}, `${technique.title} `);
      label.append(select);
      blocks.append(label);
      this.blocks.set(technique.id, select);
    }

    /** @type {Record<string, HTMLElement>} */
    this.figures = {};
    const table = el('dl', { class: 'figures' });
    for (const [key, label] of [
      ['connected', 'connected after'],
      ['first-message', 'first message after'],
      ['received', 'messages'],
      ['delayed', 'delayed by a switch'],
      ['lost', 'lost (must be 0)'],
      ['duplicates', 'dropped as seen twice'],
      ['failed-bytes', 'bytes on failed attempts'],
    ]) {
      const value = el('dd', { 'data-figure': key }, '–');
      table.append(el('dt', {}, label), value);
      this.figures[key] = value;
    }
    this.attempts = el('table', { class: 'attempts', 'data-role': 'attempts' });
    this.list = el('ol', { class: 'messages', 'data-role': 'messages' });
    this.section.append(header, controls, blocks, table, this.attempts, this.list);
    options.root.append(this.section);
  }

  /** The id of the running client: a fresh one per run, so its blocks and figures are its own. */
  get clientId() {
    return `${this.options.clientId}-auto${this.#runs}`;
  }

  async start() {
    this.#runs += 1;
    this.list.replaceChildren();
    const strategy = /** @type {Strategy} */ (this.strategy.value);
    this.strategyWords.textContent = STRATEGY_WORDS[strategy];
    await this.#sendBlocks();
    const client = new AutoClient({
      strategy,
      techniques: this.options.techniques,
      clientId: this.clientId,
      serverNow: this.options.serverNow,
      onMessage: (message, via) => {
        const item = el('li', { 'data-id': String(message.id), 'data-via': via.id, title: `via ${via.title}` });
        item.append(el('b', {}, message.author), document.createTextNode(' '), el('span', {}, message.text));
        this.list.prepend(item);
        while (this.list.children.length > LIST_LENGTH) this.list.lastElementChild?.remove();
      },
      onChange: () => {
        this.#renderState();
        this.#render();
      },
    });
    this.client = client;
    this.section.dataset.client = this.clientId;
    this.#timer = setInterval(() => this.#render(), REPORT_EVERY_MS);
    await client.start();
  }

  stop() {
    clearInterval(this.#timer);
    if (this.client) {
      this.client.stop();
      // This run's id is never used again: its blocks need not wait for the server's LRU.
      // keepalive: the page may be going away.
      fetch(`/api/blocks?client=${this.clientId}`, { method: 'DELETE', keepalive: true }).catch(() => undefined);
    }
    this.client = null;
  }

  restart() {
    this.stop();
    return this.start();
  }

  /** Tells the server what the switches say, for this panel's client alone. */
  async #sendBlocks() {
    const body = Object.fromEntries([...this.blocks].map(([id, select]) => [id, select.value]));
    await fetch(`/api/blocks?client=${this.clientId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** What the client knows itself, at once: the technique in use. */
  #renderState() {
    const id = this.client?.inUse?.id;
    this.inUse.textContent = this.client?.inUse?.title ?? 'trying…';
    this.inUse.dataset.state = id ? 'OPEN' : 'CONNECTING';
    this.section.dataset.inUse = id ?? '';
  }

  /** Everything, with the server's byte counts. */
  async #render() {
    const client = this.client;
    if (!client) return;
    /** @type {AutoReport} */
    let report;
    try {
      report = await client.report();
    } catch {
      return; // The server is away: the attempts show it.
    }
    if (client !== this.client) return;
    this.#renderState();
    const ms = (/** @type {number | undefined} */ value) => (value === undefined ? '–' : `${Math.round(value)} ms`);
    this.figures.connected.textContent = ms(report.connectedMs);
    this.figures['first-message'].textContent = ms(report.firstMessageMs);
    this.figures.received.textContent = String(report.received);
    this.figures.delayed.textContent = String(report.delayed);
    this.figures.lost.textContent = String(report.lost);
    this.figures.duplicates.textContent = String(report.duplicates);
    this.figures['failed-bytes'].textContent = `${report.failedBytes} B`;
    this.figures['failed-bytes'].dataset.bytes = String(report.failedBytes);
    const head = el('tr');
    for (const name of ['technique', 'outcome', 'at', 'bytes', 'why']) head.append(el('th', {}, name));
    const rows = report.attempts.map((attempt) => {
      const row = el('tr', { 'data-attempt': attempt.technique.id, 'data-outcome': attempt.outcome });
      const at = `${Math.round(attempt.startedAt - client.startedAt)}${attempt.endedAt === undefined ? '' : `–${Math.round(attempt.endedAt - client.startedAt)}`} ms`;
      for (const text of [attempt.technique.title, attempt.outcome, at, `${attempt.bytes} B`, attempt.reason])
        row.append(el('td', {}, text));
      return row;
    });
    this.attempts.replaceChildren(head, ...rows);
  }
}
