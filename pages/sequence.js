// The sequence diagram of a technique page: the exchange the server just recorded against
// itself (GET /api/transcripts/<id>), drawn as a client lane and a server lane with time
// going down. Every arrow sits at its measured time (the request written at 0, each read
// of the response at its `atMs`, the recording's publish at `publishedAtMs`); a held
// request shows its hold, a stream the response still open when the recording stopped.
// Nothing here is typed in: a slower server draws a longer picture.
import { TIMELINE_COLORS } from './timeline.js';

/** @import { Technique } from '/contract/techniques.js' */

/**
 * What the page fetched from /api/transcripts/<id> (server/transcript.ts).
 * @typedef {object} RecordedExchange
 * @property {string} request
 * @property {string} response
 * @property {number} responseBytes
 * @property {number | null} firstByteMs
 * @property {number} elapsedMs
 * @property {{ atMs: number, bytes: number }[]} [chunks]
 * @property {number | null} [publishedAtMs]  a held request's: when the recording published
 */

const SVG = 'http://www.w3.org/2000/svg';
/** The picture's width and the height time takes, in SVG units (it scales to the page). */
const WIDTH = 720;
const TIME_HEIGHT = 320;
const TOP = 44;
const LANES = Object.freeze({ time: 70, client: 170, server: 470, publisher: 650 });
/** The least room between two arrows (SVG units), so that each one's label can be read. */
const ARROW_GAP = 22;
/** How far after the arrow before an arrow of the same millisecond is laid out, ms: enough to be a line of its own. */
const LAYOUT_STEP_MS = 0.001;

/**
 * Where time `t` goes down the picture: in proportion to the time, except that an arrow
 * within ARROW_GAP of the one before is moved down to make room (its time is written
 * beside it), and everything after it with it.
 * @param {number[]} events the arrows' times, ms @param {(t: number) => number} linear
 * @returns {(t: number) => number}
 */
export function timeScale(events, linear) {
  const sorted = [...new Set(events)].sort((a, b) => a - b);
  /** @type {{ at: number, y: number }[]} */
  const placed = [];
  for (const at of sorted) {
    const previous = placed.at(-1);
    const shift = previous ? previous.y - linear(previous.at) : 0;
    placed.push({ at, y: Math.max(linear(at) + shift, previous ? previous.y + ARROW_GAP : linear(at)) });
  }
  return (t) => {
    let anchor = placed[0];
    for (const event of placed) if (event.at <= t) anchor = event;
    return anchor.y + linear(t) - linear(anchor.at);
  };
}

/**
 * An SVG element with its attributes.
 * @param {string} tag @param {Record<string, string | number>} [attributes] @param {string} [text]
 */
function svg(tag, attributes = {}, text = '') {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

/** @param {number} ms */
function ms(ms) {
  return ms < 1000 ? `${Math.round(ms)}\u00a0ms` : `${(ms / 1000).toFixed(2)}\u00a0s`;
}

/** @param {string} text @param {number} length */
function clip(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/**
 * Draws `exchange` as a sequence diagram: an <svg> whose arrows carry their measured time
 * (`data-at-ms`) and kind (`data-arrow`: request, response, publish).
 * @param {RecordedExchange} exchange @param {Readonly<Technique>} technique
 * @returns {SVGSVGElement}
 */
export function sequenceDiagram(exchange, technique) {
  const chunks = exchange.chunks ?? [];
  const held = exchange.publishedAtMs !== undefined;
  const times = [exchange.elapsedMs, exchange.firstByteMs ?? 0, exchange.publishedAtMs ?? 0];
  const total = Math.max(1, ...times, ...chunks.map((chunk) => chunk.atMs));
  // Where each arrow is laid out, in the order things happened (the request, the publish,
  // each read): times are whole milliseconds, so an answer read in the request's own
  // millisecond (a fast loopback stream) or two reads in one would share a line. Each is
  // laid out a hair after the one before (LAYOUT_STEP_MS); its label keeps the time measured.
  let laidOut = 0;
  const layout = (/** @type {number} */ at) => (laidOut = Math.max(at, laidOut + LAYOUT_STEP_MS));
  const publishedAt = held && exchange.publishedAtMs != null ? layout(exchange.publishedAtMs) : null;
  const readAt = chunks.map((chunk) => layout(chunk.atMs));
  const firstByteAt = readAt[0] ?? exchange.firstByteMs ?? 0;
  const y = timeScale([0, publishedAt ?? 0, ...readAt], (t) => TOP + (t / total) * TIME_HEIGHT);
  const height = y(total) + 40;
  const root = /** @type {SVGSVGElement} */ (
    svg('svg', {
      class: 'sequence',
      'data-role': 'sequence',
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: 'img',
      'aria-label': `${technique.title}: the recorded exchange, time going down`,
    })
  );
  const defs = svg('defs');
  for (const [name, colour] of Object.entries(TIMELINE_COLORS)) {
    const marker = svg('marker', {
      id: `head-${name}`,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: colour }));
    defs.append(marker);
  }
  root.append(defs);

  /** @type {{ x: number, name: string }[]} */
  const lanes = [
    { x: LANES.client, name: 'client' },
    { x: LANES.server, name: 'server' },
  ];
  if (held) lanes.push({ x: LANES.publisher, name: 'another client' });
  for (const lane of lanes) {
    root.append(svg('text', { x: lane.x, y: 18, 'text-anchor': 'middle', class: 'lane' }, lane.name));
    root.append(
      svg('line', {
        x1: lane.x,
        y1: 26,
        x2: lane.x,
        y2: y(total) + 10,
        stroke: TIMELINE_COLORS.axis,
        'stroke-dasharray': '4 4',
      }),
    );
  }
  root.append(svg('text', { x: 8, y: 18, class: 'lane' }, 'time ↓'));

  // What the server held or kept open, as a bar on its lane.
  if (held && exchange.firstByteMs !== null) {
    root.append(
      svg('rect', {
        'data-role': 'hold',
        x: LANES.server - 7,
        y: y(0),
        width: 14,
        height: Math.max(1, y(firstByteAt) - y(0)),
        fill: TIMELINE_COLORS.request,
        opacity: 0.35,
      }),
      svg(
        'text',
        { x: LANES.server + 14, y: (y(0) + y(firstByteAt)) / 2, class: 'note' },
        `held ${ms(exchange.firstByteMs)}: nothing to send`,
      ),
    );
  } else if (technique.capabilities.streams && exchange.firstByteMs !== null) {
    root.append(
      svg('rect', {
        'data-role': 'open',
        x: LANES.server - 5,
        y: y(firstByteAt),
        width: 10,
        height: Math.max(1, y(exchange.elapsedMs) - y(firstByteAt)),
        fill: TIMELINE_COLORS.connection,
        opacity: 0.3,
      }),
      svg(
        'text',
        { x: LANES.server - 12, y: y(exchange.elapsedMs), 'text-anchor': 'end', class: 'note' },
        `still open when the recording stopped, ${ms(exchange.elapsedMs)} in`,
      ),
    );
  }

  /**
   * One arrow at its measured time, with its time on the left and its label above it.
   * @param {'request' | 'response' | 'publish'} kind @param {number} at @param {number} fromX @param {number} toX
   * @param {keyof typeof TIMELINE_COLORS} colour @param {string} label
   * @param {number} [laidOutAt] where it is drawn, when the layout moved it (see `layout`)
   */
  const arrow = (kind, at, fromX, toX, colour, label, laidOutAt = at) => {
    const group = svg('g', { 'data-arrow': kind, 'data-at-ms': at });
    group.append(
      svg('line', {
        x1: fromX,
        y1: y(laidOutAt),
        x2: toX,
        y2: y(laidOutAt),
        stroke: TIMELINE_COLORS[colour],
        'stroke-width': 2.5,
        'marker-end': `url(#head-${colour})`,
      }),
    );
    group.append(
      svg('text', { x: LANES.time, y: y(laidOutAt) + 4, 'text-anchor': 'end', class: 'time' }, ms(at)),
      svg('text', { x: (fromX + toX) / 2, y: y(laidOutAt) - 5, 'text-anchor': 'middle', class: 'label' }, label),
    );
    root.append(group);
  };

  arrow('request', 0, LANES.client, LANES.server, 'request', clip(exchange.request.split('\r\n')[0] ?? '', 44));
  if (held && exchange.publishedAtMs != null)
    arrow(
      'publish',
      exchange.publishedAtMs,
      LANES.publisher,
      LANES.server,
      'sent',
      'POST a message',
      publishedAt ?? undefined,
    );
  const statusLine = clip(exchange.response.split(/\r?\n/)[0] ?? '', 40);
  chunks.forEach((chunk, index) => {
    const more = technique.capabilities.upgrades ? 'B of frames' : 'B more';
    const what = index === 0 ? `${statusLine} (${chunk.bytes}\u00a0B)` : `${chunk.bytes}\u00a0${more}`;
    const colour = index === 0 ? 'connection' : 'message';
    arrow('response', chunk.atMs, LANES.server, LANES.client, colour, what, readAt[index]);
  });
  if (chunks.length === 0)
    root.append(
      svg('text', { x: LANES.server, y: y(total) + 24, 'text-anchor': 'middle', class: 'note' }, 'nothing came back'),
    );
  return root;
}
