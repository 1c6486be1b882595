// The wire timeline of one panel: each HTTP request or connection is a bar along a shared
// time axis (the last WINDOW_MS), each message received is a tick. Short polling draws a
// comb of short bars, long polling one bar per message, the streams one long bar.

/** How much time the timeline shows, ms. */
export const WINDOW_MS = 30_000;

const COLORS = Object.freeze({
  request: '#2f6fdf',
  connection: '#1a9b5c',
  message: '#d9480f',
  axis: '#8a8f98',
  text: '#4a4f58',
});

export class Timeline {
  /** @type {import('./clients/client.js').Span[]} */
  spans = [];
  /** @type {number[]} */
  ticks = [];
  /** When the picture on the canvas was drawn (performance.now()), and whether a span or tick came since. */
  #drawnAt = Number.NEGATIVE_INFINITY;
  #changed = true;

  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
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
    const x = (/** @type {number} */ t) => ((t - from) / WINDOW_MS) * width;
    this.spans = this.spans.filter((s) => (s.end ?? now) >= from);
    this.ticks = this.ticks.filter((t) => t >= from);

    // Axis: a mark every 5 s, labelled in seconds ago.
    g.fillStyle = COLORS.text;
    g.strokeStyle = COLORS.axis;
    g.font = '10px system-ui, sans-serif';
    g.lineWidth = 1;
    const axisY = height - 12;
    for (let ago = 0; ago <= WINDOW_MS; ago += 5000) {
      const px = x(now - ago);
      g.beginPath();
      g.moveTo(px, axisY);
      g.lineTo(px, axisY + 3);
      g.stroke();
      const label = ago === 0 ? 'now' : `-${ago / 1000}s`;
      g.textAlign = ago === 0 ? 'right' : ago === WINDOW_MS ? 'left' : 'center';
      g.fillText(label, px, height - 1);
    }

    // Bars in lanes: a bar goes to the first lane free at its start.
    const laneHeight = 7;
    /** @type {number[]} */
    const laneEnds = [];
    for (const span of this.spans) {
      let lane = laneEnds.findIndex((end) => end <= span.start);
      if (lane === -1) lane = laneEnds.length;
      laneEnds[lane] = span.end ?? Infinity;
      const y = 4 + (lane % 4) * (laneHeight + 2);
      const left = Math.max(0, x(span.start));
      const right = x(span.end ?? now);
      g.fillStyle = span.kind === 'request' ? COLORS.request : COLORS.connection;
      // One pixel short, so back-to-back requests (long polling under load) stay apart.
      g.fillRect(left, y, Math.max(1.5, right - left - 1), laneHeight);
    }

    // Message ticks under the bars.
    g.strokeStyle = COLORS.message;
    g.lineWidth = 2;
    for (const t of this.ticks) {
      g.beginPath();
      g.moveTo(x(t), axisY - 14);
      g.lineTo(x(t), axisY - 2);
      g.stroke();
    }
  }
}
