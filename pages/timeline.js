// The wire timeline of one panel, drawn to be read from the back of a room. Along a shared
// time axis (the last WINDOW_MS): each HTTP request or connection is a bar as long as it
// lasted (a request the server answers at once is a thin stroke, a held one spans its
// hold), each message received is a tick where it arrived (a batch of N is N ticks side
// by side), and what the client sends over its own connection is a mark on a lane of its
// own. What a technique's timeline shows follows from its registry capabilities and its
// wire format, never from its id: a technique added to the registry draws itself.

import { TIMELINE_COLORS } from './timeline-colors.js';

export { TIMELINE_COLORS };

/** @import { Technique, WireFormat } from '/contract/techniques.js' */

/** How much time the timeline shows, ms. */
export const WINDOW_MS = 30_000;

/** Ticks this close together (ms) came in one answer or one read: drawn side by side. */
const BATCH_MS = 3;
/** Pixels between the ticks of one batch. */
const BATCH_SPACING = 5;

/** What one long response or connection carries, by wire format: the label on its bar. @type {Record<WireFormat, string>} */
const CARRIED = {
  poll: 'one answer',
  'script-stream': 'one HTML response, a <script> per message',
  'event-stream': 'one text/event-stream response',
  ndjson: 'one NDJSON response, a line per message',
  websocket: 'one upgraded connection, frames both ways',
};

/**
 * The marks a technique's timeline always draws, each with what it means: the panel's
 * legend. A response ended at its limit (ENDED_KEY) is added when one is.
 * @param {Readonly<Technique>} technique
 * @returns {{ mark: keyof typeof TIMELINE_COLORS, text: string }[]}
 */
export function timelineLegend({ capabilities, wire }) {
  /** @type {{ mark: keyof typeof TIMELINE_COLORS, text: string }[]} */
  const marks = [];
  if (capabilities.streams) marks.push({ mark: 'connection', text: `${CARRIED[wire]}; a gap is a reconnect` });
  else if (capabilities.holdsRequest) marks.push({ mark: 'request', text: 'a request, as long as the server held it' });
  else marks.push({ mark: 'request', text: 'a request, answered at once' });
  marks.push({ mark: 'message', text: 'a message, where it arrived' });
  if (capabilities.twoWay) marks.push({ mark: 'sent', text: 'sent by this client on the same connection' });
  return marks;
}

/** The key's words for a response the server ended at its byte limit: shown once one has. */
export const ENDED_KEY = Object.freeze({
  mark: /** @type {const} */ ('end'),
  text: 'the server ended it at its byte limit: reopened',
});

export class Timeline {
  /** @type {import('./clients/client.js').Span[]} */
  spans = [];
  /** @type {number[]} */
  ticks = [];
  /** When the client sent something over its connection (performance.now()). @type {number[]} */
  sends = [];
  /** When the server ended a response on purpose (performance.now()). @type {number[]} */
  ends = [];
  /** When the picture on the canvas was drawn (performance.now()), and whether a mark came since. */
  #drawnAt = Number.NEGATIVE_INFINITY;
  #changed = true;

  /** @param {HTMLCanvasElement} canvas @param {Readonly<Technique>} technique */
  constructor(canvas, technique) {
    this.canvas = canvas;
    this.technique = technique;
  }

  /** @param {import('./clients/client.js').Span} span */
  span(span) {
    if (!this.spans.includes(span)) this.spans.push(span);
    this.#changed = true;
  }

  /** A message arrived now. */
  tick() {
    this.ticks.push(performance.now());
    this.#changed = true;
  }

  /** The client sent a frame of its own over its connection now. */
  sent() {
    this.sends.push(performance.now());
    this.#changed = true;
  }

  /** The server ended the response now, on purpose (its byte limit). */
  ended() {
    this.ends.push(performance.now());
    this.#changed = true;
  }

  draw(now = performance.now()) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    // The picture slides one pixel every WINDOW_MS / width ms (about 100 ms): drawing it
    // every frame would repaint the same pixels, on the main thread the page's messages
    // arrive on, and delay them (docs/browser-delays.md).
    const resized = canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio);
    if (!this.#changed && !resized && now - this.#drawnAt < WINDOW_MS / Math.max(1, width)) return;
    this.#changed = false;
    this.#drawnAt = now;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);

    const from = now - WINDOW_MS;
    // Whole pixels: marks keep their exact colour, with no blended edge.
    const x = (/** @type {number} */ t) => Math.round(((t - from) / WINDOW_MS) * width);
    this.spans = this.spans.filter((s) => (s.end ?? now) >= from);
    this.ticks = this.ticks.filter((t) => t >= from);
    this.sends = this.sends.filter((t) => t >= from);
    this.ends = this.ends.filter((t) => t >= from);

    const { capabilities, wire } = this.technique;
    const axisY = height - 13;
    // Rows, top down: requests or connections, messages, and for a two-way technique what
    // the client sent.
    const barTop = 3;
    const barHeight = 16;
    const tickTop = barTop + barHeight + 4;
    const tickHeight = capabilities.twoWay ? 14 : Math.max(12, axisY - 2 - tickTop);
    const sentTop = tickTop + tickHeight + 3;

    this.#axis(g, x, now, axisY, height);

    g.font = 'bold 11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    g.textAlign = 'left';
    let previousEnd = Number.NEGATIVE_INFINITY;
    for (const span of [...this.spans].sort((a, b) => a.start - b.start)) {
      const left = Math.max(0, x(span.start));
      const right = x(span.end ?? now);
      // A request answered at once lasts a few ms, under a pixel: a stroke, not a bar.
      const held = capabilities.holdsRequest || span.kind === 'connection';
      // One pixel short, so back-to-back requests (long polling under load) stay apart.
      const barWidth = held ? Math.max(3, right - left - 1) : 3;
      const overlaps = span.start < previousEnd;
      previousEnd = Math.max(previousEnd, span.end ?? now);
      g.fillStyle = span.kind === 'request' ? TIMELINE_COLORS.request : TIMELINE_COLORS.connection;
      g.fillRect(left, barTop + (overlaps ? barHeight / 2 : 0), barWidth, overlaps ? barHeight / 2 : barHeight);
      const label = capabilities.streams ? CARRIED[wire] : '';
      if (label && barWidth > 40) {
        g.save();
        g.beginPath();
        g.rect(left, barTop, barWidth, barHeight);
        g.clip();
        g.fillStyle = TIMELINE_COLORS.label;
        g.fillText(label, left + 4, barTop + barHeight / 2 + 1);
        g.restore();
      }
    }

    // The server's end of a response: a black cap across the bar row.
    g.fillStyle = TIMELINE_COLORS.end;
    for (const t of this.ends) g.fillRect(x(t) - 1, barTop - 2, 3, barHeight + 4);

    // Messages: one tick each; those of one batch side by side from where it arrived.
    g.fillStyle = TIMELINE_COLORS.message;
    let batchStart = Number.NEGATIVE_INFINITY;
    let inBatch = 0;
    for (const t of this.ticks) {
      if (t - batchStart > BATCH_MS) {
        batchStart = t;
        inBatch = 0;
      }
      g.fillRect(x(batchStart) + inBatch * BATCH_SPACING, tickTop, 3, tickHeight);
      inBatch += 1;
    }

    if (capabilities.twoWay) {
      g.fillStyle = TIMELINE_COLORS.text;
      g.font = '10px system-ui, sans-serif';
      g.fillText('sent ↑', 2, sentTop + 6);
      g.fillStyle = TIMELINE_COLORS.sent;
      for (const t of this.sends) {
        const px = x(t);
        g.fillRect(px - 1, sentTop, 3, 12);
        g.fillRect(px - 3, sentTop, 7, 3);
      }
    }
  }

  /**
   * A mark every 5 s, labelled in seconds ago; on a narrow canvas (a phone) a label only
   * where it does not run into the one before it.
   * @param {CanvasRenderingContext2D} g @param {(t: number) => number} x
   * @param {number} now @param {number} axisY @param {number} height
   */
  #axis(g, x, now, axisY, height) {
    g.fillStyle = TIMELINE_COLORS.text;
    g.strokeStyle = TIMELINE_COLORS.axis;
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'alphabetic';
    g.lineWidth = 1;
    // Labels are drawn from the right (now) leftwards; one is skipped when it would touch
    // the last one drawn.
    let freeRight = Number.POSITIVE_INFINITY;
    for (let ago = 0; ago <= WINDOW_MS; ago += 5000) {
      const px = x(now - ago);
      g.beginPath();
      g.moveTo(px + 0.5, axisY);
      g.lineTo(px + 0.5, axisY + 3);
      g.stroke();
      const label = ago === 0 ? 'now' : `-${ago / 1000}s`;
      const align = ago === 0 ? 'right' : ago === WINDOW_MS ? 'left' : 'center';
      const width = g.measureText(label).width;
      const left = align === 'right' ? px - width : align === 'center' ? px - width / 2 : px;
      if (left + width + 3 > freeRight) continue;
      g.textAlign = align;
      g.fillText(label, px, height - 1);
      freeRight = left;
    }
  }
}
