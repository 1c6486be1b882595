// The side-by-side page: one panel per technique, each with its own client of that
// technique, all reading the one feed. The figures under "wire" come from the server's
// socket accounting for this page's clients (GET /api/stats?client=...), not from
// guesses in the browser.
import { techniques } from './clients/index.js';
import { Timeline } from './timeline.js';

/** How often the panels refresh their wire figures from the server, ms. */
const STATS_EVERY_MS = 1000;
/** Messages listed per panel (older ones scroll away). */
const LIST_LENGTH = 30;
/** Ticker rates offered, messages per second; bounded so a classroom laptop copes. */
export const TICKER_RATES = [0, 1, 5, 20];

// One id for all of this page's clients: the server keeps their bytes apart by technique.
const clientId = `page-${Math.random().toString(36).slice(2, 10)}`;
let clockOffsetMs = 0;

/** @param {string} tag @param {Record<string, string>} [attributes] @param {string} [text] */
function el(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

/** @param {number} bytes */
function formatBytes(bytes) {
  if (bytes < 10_000) return `${bytes} B`;
  if (bytes < 10_000_000) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** @param {number[]} values */
function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** @param {number} ms */
function formatMs(ms) {
  return Number.isFinite(ms) ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : '–';
}

/** Epoch ms now, with the precision of performance.now(). */
function epochNow() {
  return performance.timeOrigin + performance.now();
}

/**
 * Estimates server clock minus browser clock, NTP-style: the sample with the shortest
 * round trip wins, and the server's reading is assumed to sit in the middle of it.
 */
async function estimateClockOffset(samples = 5) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < samples; i += 1) {
    const sent = epochNow();
    const response = await fetch('/api/health', { cache: 'no-store' });
    const { now } = await response.json();
    const received = epochNow();
    const rtt = received - sent;
    if (rtt < best.rtt) best = { rtt, offset: now - (sent + received) / 2 };
  }
  return best.offset;
}

class Panel {
  /** @param {typeof techniques[number]} technique @param {HTMLElement} root */
  constructor(technique, root) {
    this.id = technique.id;
    /** @type {number[]} */
    this.delays = [];
    this.received = 0;
    this.section = el('section', { class: 'panel', 'data-technique': technique.id });
    const header = el('header');
    const title = el('h2');
    title.append(el('a', { href: `/techniques/${technique.id}.html` }, technique.title));
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
    ]) {
      const value = el('dd', { 'data-figure': key }, '0');
      table.append(el('dt', {}, label), value);
      this.figures[key] = value;
    }

    const canvas = /** @type {HTMLCanvasElement} */ (el('canvas', { class: 'timeline', 'aria-label': `${technique.title} wire timeline` }));
    this.timeline = new Timeline(canvas);

    const controls = el('div', { class: 'controls' });
    const drop = el('button', { type: 'button', 'data-action': 'drop' }, 'Drop connection');
    const pause = el('button', { type: 'button', 'data-action': 'pause' }, 'Pause');
    controls.append(drop, pause);

    this.list = el('ol', { class: 'messages', 'data-role': 'messages' });
    this.logLine = el('p', { class: 'log', 'data-role': 'log' });
    this.section.append(header, table, canvas, controls, this.logLine, this.list);
    root.append(this.section);

    this.client = new technique.Client({
      clientId,
      onMessage: (message) => this.#show(message),
      onEvent: (event) => {
        if (event.type === 'gap') this.#notice(`${event.missed} messages were too old to recover`);
        if (event.type === 'reset') this.#notice(`the feed started over (epoch ${event.epoch}): its history from the start`);
      },
      onState: (state) => {
        this.stateBadge.textContent = state;
        this.stateBadge.dataset.state = state;
      },
      onSpan: (span) => this.timeline.span(span),
      onLog: (line) => {
        this.logLine.textContent = line;
      },
    });
    drop.addEventListener('click', () => this.client.drop());
    pause.addEventListener('click', () => {
      if (this.client.state === 'CLOSED') {
        this.client.open();
        pause.textContent = 'Pause';
      } else {
        this.client.close();
        pause.textContent = 'Resume';
      }
    });
  }

  /** @param {import('./clients/client.js').Message} message */
  #show(message) {
    const delay = epochNow() + clockOffsetMs - message.ts;
    this.delays.push(delay);
    if (this.delays.length > 200) this.delays.shift();
    this.received += 1;
    this.figures.messages.textContent = String(this.received);
    this.figures.delay.textContent = `${formatMs(median(this.delays))} / ${formatMs(delay)}`;
    this.timeline.tick();
    const item = el('li', { 'data-id': String(message.id) });
    item.append(el('b', {}, message.author), document.createTextNode(' '), el('span', {}, message.text));
    this.list.prepend(item);
    while (this.list.children.length > LIST_LENGTH) this.list.lastElementChild?.remove();
  }

  /** @param {string} text */
  #notice(text) {
    const item = el('li', { class: 'notice' }, text);
    this.list.prepend(item);
  }

  /** @param {any} counters the server's counters for this page's client of this technique */
  update(counters) {
    if (!counters) return;
    this.figures.requests.textContent = String(counters.httpRequests);
    this.figures.down.textContent = formatBytes(counters.bytesOut.headers + counters.bytesOut.body);
    this.figures.up.textContent = formatBytes(counters.bytesIn.headers + counters.bytesIn.body);
  }
}

/**
 * Publishes over the WebSocket panel's own connection (when asked and open) or with POST;
 * resolves with the id the server stored, rejects with the server's reason.
 * @returns {Promise<{ id: number, via: string }>}
 */
async function publish(/** @type {string} */ author, /** @type {string} */ text, viaSocket = false) {
  const socketPanel = panels.find((panel) => panel.id === 'websocket');
  const answer = viaSocket && socketPanel ? /** @type {any} */ (socketPanel.client).publish(author, text) : null;
  if (answer) return { id: await answer, via: 'over the WebSocket' };
  const response = await fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author, text }),
  });
  if (!response.ok) {
    const error = await response.json().catch(() => ({ message: response.statusText }));
    throw new Error(error.message);
  }
  return { id: (await response.json()).id, via: 'with POST /api/messages' };
}

const root = /** @type {HTMLElement} */ (document.getElementById('panels'));
const panels = techniques.map((technique) => new Panel(technique, root));

// The composer: the WebSocket panel's client sends over its own socket; that is the
// point: only WebSocket is two-way on one connection. (It still reaches every panel.)
const form = /** @type {HTMLFormElement} */ (document.getElementById('composer'));
const status = /** @type {HTMLElement} */ (document.getElementById('composer-status'));
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const author = String(data.get('author') ?? '').trim() || 'anonymous';
  const text = String(data.get('text') ?? '');
  if (!text) return;
  const viaSocket = data.get('via') === 'websocket';
  try {
    const { id, via } = await publish(author, text, viaSocket);
    status.textContent = `stored as #${id}, sent ${via}`;
    /** @type {HTMLInputElement} */ (form.elements.namedItem('text')).value = '';
  } catch (error) {
    status.textContent = `not sent: ${/** @type {Error} */ (error).message}`;
  }
});

// The ticker publishes N messages a second, to show what high rates do to each technique.
const ticker = /** @type {HTMLSelectElement} */ (document.getElementById('ticker'));
let tickerTimer = /** @type {ReturnType<typeof setInterval> | undefined} */ (undefined);
let tickerCount = 0;
ticker.addEventListener('change', () => {
  clearInterval(tickerTimer);
  const rate = Number(ticker.value);
  if (rate > 0) {
    tickerTimer = setInterval(() => {
      tickerCount += 1;
      publish('ticker', `tick ${tickerCount}`).catch(() => clearInterval(tickerTimer));
    }, 1000 / rate);
  }
});

// The short-polling interval: the one knob that trades delay for requests.
const interval = /** @type {HTMLInputElement} */ (document.getElementById('poll-interval'));
const intervalLabel = /** @type {HTMLElement} */ (document.getElementById('poll-interval-value'));
const shortPanel = panels.find((panel) => panel.id === 'short-polling');
const applyInterval = () => {
  intervalLabel.textContent = `${interval.value} ms`;
  if (shortPanel) /** @type {any} */ (shortPanel.client).intervalMs = Number(interval.value);
};
interval.addEventListener('input', applyInterval);
applyInterval();

async function refreshStats() {
  try {
    const response = await fetch(`/api/stats?client=${clientId}`, { cache: 'no-store' });
    const stats = await response.json();
    for (const panel of panels) panel.update(stats.techniques[panel.id]);
  } catch {
    // The server is away; the panels show their clients reconnecting.
  }
}

let statsTimer = /** @type {ReturnType<typeof setInterval> | undefined} */ (undefined);
let frame = 0;
function draw() {
  for (const panel of panels) panel.timeline.draw();
  frame = requestAnimationFrame(draw);
}

function start() {
  // Live from now: the page shows what is published while it is open.
  for (const panel of panels) panel.client.open(panel.client.cursor);
  statsTimer = setInterval(refreshStats, STATS_EVERY_MS);
  frame = requestAnimationFrame(draw);
}

// Close every connection when the page goes away (and reopen after back/forward), so a
// tab in the cache does not hold connections of the browser's six per host.
window.addEventListener('pagehide', () => {
  for (const panel of panels) panel.client.close();
  clearInterval(statsTimer);
  clearInterval(tickerTimer);
  cancelAnimationFrame(frame);
});
window.addEventListener('pageshow', (event) => {
  if (event.persisted) start();
});

estimateClockOffset()
  .then((offset) => {
    clockOffsetMs = offset;
  })
  .catch(() => undefined);
// After the page's load event: a forever iframe never finishes loading, and one created
// earlier would hold the page's own load event (and the browser's spinner) forever.
if (document.readyState === 'complete') start();
else window.addEventListener('load', start, { once: true });
