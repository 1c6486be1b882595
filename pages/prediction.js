// Predict, then measure, in a panel: its technique's model (the bench's own, from
// /contract/models.js) fed with what this page measured (the time its client has been
// connected, the messages it received, the poll interval, the payload size, the request
// headers the server counted, the round trip), beside the server's count of what the client
// really cost. A figure outside the model's tolerance is highlighted; inside, it is not,
// so that a class looks only where the model and the wire part. Below, what that same
// model costs the server at N clients, for a student to change N.
import { agrees, predict } from '/contract/models.js';

/**
 * @import { Message } from '/contract/feed.js'
 * @import { ModelInput, Prediction } from '/contract/models.js'
 * @import { WireCounters } from '/contract/stats.js'
 * @import { Technique } from '/contract/techniques.js'
 */

/** The client counts a student can pick for the cost line; the first is shown at first. */
export const COST_CLIENTS = Object.freeze([30, 1000, 100_000]);

/** The rows, in the order shown: what each is, and its unit. */
const ROWS = Object.freeze([
  ['requestsPerMinute', 'requests/min'],
  ['headersPerMessage', 'headers B/msg'],
  ['framingPerMessage', 'framing B/msg'],
  ['payloadPerMessage', 'payload B/msg'],
  ['delayMs', 'mean delay ms'],
]);

/** @type {WireCounters} */
const ZERO = Object.freeze({
  openConnections: 0,
  activeRequests: 0,
  httpRequests: 0,
  messagesDelivered: 0,
  payloadBytes: 0,
  bytesIn: { headers: 0, body: 0 },
  bytesOut: { headers: 0, body: 0 },
});

/**
 * What the panel tells the block each second, besides the server's counters.
 * @typedef {object} ClientFigures
 * @property {number} intervalMs     the poll interval the client uses now
 * @property {string | undefined} epoch
 * @property {number} rttMs          the best round trip to the server seen, ms (Infinity: none yet)
 */

/**
 * A figure's prediction: the number and how far a measurement may be from it.
 * @typedef {Pick<Prediction, 'predicted' | 'tolerance' | 'toleranceAbs'>} Judged
 */

/**
 * `a − b`, counter by counter.
 * @param {WireCounters} a @param {WireCounters} b
 */
function minus(a, b) {
  return {
    httpRequests: a.httpRequests - b.httpRequests,
    messagesDelivered: a.messagesDelivered - b.messagesDelivered,
    payloadBytes: a.payloadBytes - b.payloadBytes,
    headers: a.bytesIn.headers + a.bytesOut.headers - (b.bytesIn.headers + b.bytesOut.headers),
    bodies: a.bytesIn.body + a.bytesOut.body - (b.bytesIn.body + b.bytesOut.body),
  };
}

/**
 * A prediction that is `share` of a request prediction's (headers per message are requests ×
 * headers per request ÷ messages): it agrees as far as the requests it comes from.
 * @param {Prediction} requests @param {number} share @param {number} [extra] added to the number, not scaled
 * @returns {Judged}
 */
function scaled(requests, share, extra = 0) {
  return {
    predicted: requests.predicted * share + extra,
    tolerance: requests.tolerance,
    toleranceAbs: (requests.toleranceAbs ?? 0) * share,
  };
}

/** @param {number} value */
function shown(value) {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return value.toFixed(1);
}

/** @param {number} perSecond */
function rate(perSecond) {
  return perSecond >= 10 ? Math.round(perSecond).toLocaleString('en') : perSecond.toFixed(1);
}

/** @param {number} bytesPerSecond SI units (1 kB = 1000 B), as a network link is sold */
function bandwidth(bytesPerSecond) {
  if (bytesPerSecond >= 1e9) return `${(bytesPerSecond / 1e9).toFixed(1)} GB/s`;
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  if (bytesPerSecond >= 1e3) return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
  return `${Math.round(bytesPerSecond)} B/s`;
}

/**
 * @param {string} tag @param {Record<string, string>} [attributes] @param {string} [text]
 */
function el(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

export class PredictionBlock {
  /** When the measured window began (performance.now()); undefined: not yet connected. */
  #startedAt = /** @type {number | undefined} */ (undefined);
  /** The server's counters as the window began. */
  #baseline = ZERO;
  /** The newest counters the server sent. */
  #latest = ZERO;
  /** The poll interval the window was measured at. */
  #intervalMs = Number.NaN;
  /** The window begins again at the next connect: the client lost its connection or paused. */
  #restartPending = false;
  /** @type {number[]} */
  #ids = [];
  /** @type {number[]} */
  #delays = [];
  #firstTs = Number.NaN;
  #lastTs = Number.NaN;
  /** What one client costs the server per second, as predicted; null until known. */
  #perClient = /** @type {{ requests: number, bytes: number } | null} */ (null);

  /** @param {Readonly<Technique>} technique */
  constructor(technique) {
    this.technique = technique;
    this.element = el('div', { class: 'prediction', 'data-role': 'prediction' });
    const table = el('table');
    const head = el('tr');
    // Which stretch of time the figures are of: the window begins again at a reconnect.
    this.windowCell = el('th', { scope: 'col', 'data-role': 'window' });
    head.append(this.windowCell, el('th', { scope: 'col' }, 'predicted'), el('th', { scope: 'col' }, 'measured'));
    table.append(head);
    /** @type {Record<string, { row: HTMLElement, predicted: HTMLElement, measured: HTMLElement }>} */
    this.rows = {};
    for (const [key, label] of ROWS) {
      const row = el('tr', { 'data-figure': key });
      const predicted = el('td', { 'data-side': 'predicted' }, '–');
      const measured = el('td', { 'data-side': 'measured' }, '–');
      row.append(el('th', { scope: 'row' }, label), predicted, measured);
      table.append(row);
      this.rows[key] = { row, predicted, measured };
    }
    const cost = el('p', { class: 'cost', 'data-role': 'cost' });
    const label = el('label', {}, 'at ');
    this.clientsSelect = /** @type {HTMLSelectElement} */ (el('select', { 'data-role': 'cost-clients' }));
    for (const count of COST_CLIENTS)
      this.clientsSelect.append(el('option', { value: String(count) }, count.toLocaleString('en')));
    label.append(this.clientsSelect, document.createTextNode(' clients:'));
    this.costLine = el('output', { 'data-role': 'cost-line' }, '–');
    cost.append(label, document.createTextNode(' '), this.costLine);
    this.clientsSelect.addEventListener('change', () => this.#renderCost());
    this.element.append(table, cost);
  }

  /**
   * The client's state: the window begins at its first connect, and again at the connect
   * after a loss or a pause, since the models are of a client that stays connected.
   * @param {string} state
   */
  state(state) {
    if (state === 'CLOSED' || (state === 'CONNECTING' && this.#startedAt !== undefined)) this.#restartPending = true;
    if (state === 'CONNECTING' && (this.#startedAt === undefined || this.#restartPending)) this.#restart();
  }

  /**
   * A message the client received, `delayMs` after the server stamped it.
   * @param {Message} message @param {number} delayMs
   */
  message(message, delayMs) {
    if (this.#startedAt === undefined) return;
    this.#ids.push(message.id);
    this.#delays.push(delayMs);
    if (Number.isNaN(this.#firstTs)) this.#firstTs = message.ts;
    this.#lastTs = message.ts;
  }

  /**
   * The server's counters for this client, and the client's own figures: predicts and
   * compares, every time the panel refreshes.
   * @param {WireCounters} counters @param {ClientFigures} client
   */
  update(counters, client) {
    this.#latest = counters;
    // Not connected, or paused: the figures stay as they were until the next window.
    if (this.#startedAt === undefined || this.#restartPending) return;
    if (Number.isNaN(this.#intervalMs)) this.#intervalMs = client.intervalMs;
    // The polling model is of one interval: a new one is a new experiment.
    if (this.technique.capabilities.pollsWhenIdle && client.intervalMs !== this.#intervalMs) {
      this.#restart();
      this.#intervalMs = client.intervalMs;
      return;
    }
    const elapsedMs = performance.now() - this.#startedAt;
    if (elapsedMs <= 0) return;
    const delta = minus(counters, this.#baseline);
    const messages = this.#ids.length;
    /** @type {ModelInput} */
    const input = {
      clients: 1,
      publishedIds: this.#ids,
      publishWindowMs: messages > 1 ? this.#lastTs - this.#firstTs : 0,
      subscribedMs: elapsedMs,
      pollIntervalMs: client.intervalMs,
      payloadBytesPerMessage: delta.messagesDelivered > 0 ? delta.payloadBytes / delta.messagesDelivered : 0,
      epoch: client.epoch ?? '',
      network: Number.isFinite(client.rttMs) ? { rttMs: client.rttMs } : null,
    };
    const predictions = predict(this.technique, input);
    /** @param {Prediction['metric']} metric */
    const model = (metric) => predictions.find((prediction) => prediction.metric === metric);
    const requests = /** @type {Prediction} */ (model('httpRequests'));
    const minutes = elapsedMs / 60_000;
    const perRequestHeaders = delta.httpRequests > 0 ? delta.headers / delta.httpRequests : 0;
    const delivered = delta.messagesDelivered;
    // The model's own, pollers' too: the envelope of each answer that carries messages.
    const framing = delivered > 0 ? model('framingBytesPerMessage') : undefined;

    this.#show('requestsPerMinute', requests, delta.httpRequests, minutes);
    this.#show(
      'headersPerMessage',
      delivered > 0 ? scaled(requests, perRequestHeaders / delivered) : undefined,
      delivered > 0 ? delta.headers / delivered : Number.NaN,
    );
    this.#show(
      'framingPerMessage',
      framing,
      delivered > 0 ? (delta.bodies - delta.payloadBytes) / delivered : Number.NaN,
    );
    const payload = delivered > 0 ? input.payloadBytesPerMessage : Number.NaN;
    // An input of the models, not a prediction: the same figure on both sides.
    this.#show('payloadPerMessage', undefined, payload, 1, payload);
    const mean = this.#delays.length > 0 ? this.#delays.reduce((a, b) => a + b, 0) / this.#delays.length : Number.NaN;
    this.#show('delayMs', model('meanLatencyMs'), mean);

    const seconds = elapsedMs / 1000;
    this.windowCell.textContent = `over ${Math.round(seconds)} s`;
    // With no messages, a poller's answers are 204s with no body: headers only.
    const framingBytes = framing ? framing.predicted * delivered : 0;
    this.#perClient = {
      requests: requests.predicted / seconds,
      bytes: (requests.predicted * perRequestHeaders + framingBytes + delta.payloadBytes) / seconds,
    };
    this.#renderCost();
  }

  /**
   * One row: the prediction (undefined: none) and the measurement, both divided by `per`,
   * the measured cell marked when outside the tolerance.
   * @param {string} key @param {Judged | undefined} prediction @param {number} measured
   * @param {number} [per] @param {number} [predictedShown] when the prediction is an input
   */
  #show(key, prediction, measured, per = 1, predictedShown) {
    const { row, predicted, measured: cell } = this.rows[key];
    predicted.textContent = shown((predictedShown ?? prediction?.predicted ?? Number.NaN) / per);
    cell.textContent = shown(measured / per);
    const judged = prediction && Number.isFinite(measured);
    const inside = judged ? agrees({ metric: 'httpRequests', model: '', ...prediction }, measured) : true;
    row.dataset.predicted = String((prediction?.predicted ?? predictedShown ?? Number.NaN) / per);
    row.dataset.measured = String(measured / per);
    row.dataset.agrees = judged ? String(inside) : '';
    row.dataset.allowed = prediction
      ? String(Math.max(prediction.tolerance * prediction.predicted, prediction.toleranceAbs ?? 0) / per)
      : '';
    row.classList.toggle('off', !inside);
  }

  /** The cost line for the chosen client count: the one client's predicted cost, times N. */
  #renderCost() {
    const clients = Number(this.clientsSelect.value);
    if (!this.#perClient) return;
    const requests = this.#perClient.requests * clients;
    const bytes = this.#perClient.bytes * clients;
    const { holdsRequest, streams } = this.technique.capabilities;
    const held = holdsRequest || streams ? `, ${clients.toLocaleString('en')} held open` : '';
    this.costLine.textContent = `${rate(requests)} req/s, ${bandwidth(bytes)}${held}`;
    this.costLine.dataset.clients = String(clients);
    this.costLine.dataset.requestsPerSecond = String(requests);
    this.costLine.dataset.bytesPerSecond = String(bytes);
  }

  /** A new window from now, counted from the newest counters. */
  #restart() {
    this.#startedAt = performance.now();
    this.#baseline = this.#latest;
    this.#restartPending = false;
    this.#ids = [];
    this.#delays = [];
    this.#firstTs = Number.NaN;
    this.#lastTs = Number.NaN;
  }
}
