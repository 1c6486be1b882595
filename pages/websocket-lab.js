/**
 * The WebSocket lab: one socket to /api/echo driven by hand, its readyState polled every
 * frame so that every state shows (CLOSING too: the echo holds its close answer when asked,
 * `?linger=MS`), every event logged with what the API gives, a burst to watch
 * bufferedAmount, and failures provoked for real. The foreign-Origin failure runs in a
 * frame of the other loopback name (websocket-lab-probe.html), which reports back by
 * postMessage: a page cannot set its own Origin.
 */

/** The names of readyState's four values, by number. */
const READY_STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
/** A burst: this many messages of BURST_CHUNK_BYTES, under the echo's size limit each. */
const BURST_MESSAGES = 256;
const BURST_CHUNK_BYTES = 16 * 1024;
/** How many bufferedAmount samples the graph keeps, one per frame. */
const GRAPH_SAMPLES = 240;

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`websocket-lab.html has no #${id}`);
  return element;
}
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (byId(id));
/** @param {string} id */
const select = (id) => /** @type {HTMLSelectElement} */ (byId(id));

const log = byId('log');
const readyNumber = byId('ready-number');
const readyName = byId('ready-name');
const bufferedNow = byId('buffered');
const bufferedPeakOut = byId('buffered-peak');
const graph = /** @type {HTMLCanvasElement} */ (byId('buffered-graph'));
const foreignFrame = /** @type {HTMLIFrameElement} */ (byId('foreign-frame'));

const startedAt = performance.now();
/** @type {WebSocket | null} */
let socket = null;
let shownState = -1;
/** @type {number[]} */
const bufferedSamples = [];
let bufferedPeak = 0;
/** While a burst's echoes come back, messages are counted rather than logged one by one. */
let burstEchoesLeft = 0;

/**
 * Adds a line to the event log.
 * @param {string} source  which socket: `page`, or `foreign page`
 * @param {string} event   the event's name, or `readyState`
 * @param {string} detail
 */
function record(source, event, detail) {
  const line = document.createElement('li');
  line.dataset.event = event;
  line.dataset.source = source;
  const time = `${((performance.now() - startedAt) / 1000).toFixed(3)} s`;
  line.textContent = `${time}  ${source === 'page' ? '' : `[${source}] `}${event}  ${detail}`;
  log.append(line);
  line.scrollIntoView({ block: 'nearest' });
}

/** @param {number} state */
const stateLabel = (state) => `${state} ${READY_STATE_NAMES[state] ?? '?'}`;

/** The echo's URL on this page's host, with its knobs. @param {Record<string, string>} query */
function echoUrl(query = {}) {
  const url = new URL('/api/echo', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

/**
 * Opens the page's socket (closing any previous one) and logs all it does.
 * @param {string} url
 * @param {string[]} protocols
 */
function open(url, protocols) {
  socket?.close();
  record('page', 'new WebSocket', `${url}${protocols.length ? ` offering ${protocols.join(', ')}` : ''}`);
  /** @type {WebSocket} */
  let opened;
  try {
    opened = new WebSocket(url, protocols);
  } catch (error) {
    record('page', 'throws', String(error));
    return;
  }
  socket = opened;
  opened.binaryType = /** @type {BinaryType} */ (select('binary-type').value);
  shownState = -1;
  opened.addEventListener('open', () =>
    record('page', 'open', `protocol "${opened.protocol}", extensions "${opened.extensions}"`),
  );
  opened.addEventListener('message', (event) => onMessage(event.data));
  opened.addEventListener('error', () => record('page', 'error', 'an Event with no detail: no status, no reason'));
  opened.addEventListener('close', (event) =>
    record('page', 'close', `code ${event.code}, reason "${event.reason}", wasClean ${event.wasClean}`),
  );
}

/** @param {unknown} data */
function onMessage(data) {
  if (burstEchoesLeft > 0) {
    burstEchoesLeft -= 1;
    if (burstEchoesLeft === 0) record('page', 'message', `the burst's ${BURST_MESSAGES} echoes are all back`);
    return;
  }
  if (typeof data === 'string') record('page', 'message', `string, ${data.length} chars: "${data}"`);
  else if (data instanceof ArrayBuffer)
    record('page', 'message', `ArrayBuffer, ${data.byteLength} bytes: "${new TextDecoder().decode(data)}"`);
  else if (data instanceof Blob) {
    // A Blob's bytes are read later, asynchronously: its size is known at once.
    record('page', 'message', `Blob, ${data.size} bytes`);
  } else record('page', 'message', String(data));
}

/** Sends `data` on the page's socket, saying what went. @param {string | ArrayBuffer | Blob} data @param {string} what */
function send(data, what) {
  if (!socket) return record('page', 'send', 'no socket: open one first');
  try {
    socket.send(data);
    record('page', 'send', `${what}; bufferedAmount now ${socket.bufferedAmount}`);
  } catch (error) {
    record('page', 'send throws', String(error));
  }
}

/** Every frame: readyState transitions, bufferedAmount, the graph. */
function watch() {
  const state = socket ? socket.readyState : -1;
  if (state !== shownState) {
    shownState = state;
    readyNumber.textContent = state < 0 ? '–' : String(state);
    readyName.textContent = state < 0 ? 'no socket' : (READY_STATE_NAMES[state] ?? '?');
    readyName.dataset.state = READY_STATE_NAMES[state] ?? 'none';
    if (state >= 0) record('page', 'readyState', stateLabel(state));
  }
  const buffered = socket?.bufferedAmount ?? 0;
  bufferedPeak = Math.max(bufferedPeak, buffered);
  bufferedNow.textContent = String(buffered);
  bufferedPeakOut.textContent = String(bufferedPeak);
  bufferedSamples.push(buffered);
  if (bufferedSamples.length > GRAPH_SAMPLES) bufferedSamples.shift();
  drawGraph();
  requestAnimationFrame(watch);
}

function drawGraph() {
  const context = graph.getContext('2d');
  if (!context) return;
  const { width, height } = graph;
  context.clearRect(0, 0, width, height);
  const top = Math.max(1, ...bufferedSamples);
  context.fillStyle = '#2f6fdf';
  const barWidth = width / GRAPH_SAMPLES;
  bufferedSamples.forEach((value, index) => {
    const barHeight = (value / top) * (height - 2);
    context.fillRect(index * barWidth, height - barHeight, Math.max(1, barWidth - 0.5), barHeight);
  });
}

function burst() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return record('page', 'burst', 'no open socket: open one first');
  const chunk = new Uint8Array(BURST_CHUNK_BYTES).fill(42);
  bufferedPeak = 0;
  burstEchoesLeft += BURST_MESSAGES;
  for (let index = 0; index < BURST_MESSAGES; index += 1) socket.send(chunk);
  record(
    'page',
    'burst',
    `${BURST_MESSAGES} × ${BURST_CHUNK_BYTES} bytes sent; bufferedAmount ${socket.bufferedAmount}`,
  );
}

/** This page's origin under its other loopback name, or null when it has none. */
function otherLoopbackOrigin() {
  const other = { localhost: '127.0.0.1', '127.0.0.1': 'localhost' }[location.hostname];
  return other ? `${location.protocol}//${other}:${location.port}` : null;
}

function foreignOrigin() {
  const origin = otherLoopbackOrigin();
  if (!origin) {
    record('foreign page', 'skipped', 'open this page on localhost or 127.0.0.1: the frame needs the other name');
    return;
  }
  const probe = new URL('/websocket-lab-probe.html', origin);
  probe.searchParams.set('target', echoUrl());
  probe.searchParams.set('parent', location.origin);
  foreignFrame.hidden = false;
  foreignFrame.src = probe.href;
}

// The foreign page's report, trusted only from the origin it was loaded from.
window.addEventListener('message', (event) => {
  if (event.origin !== otherLoopbackOrigin()) return;
  const { event: name, detail } = /** @type {{ event: string, detail: string }} */ (event.data);
  record(`foreign page ${event.origin}`, name, detail);
});

const protocolsChosen = () => select('protocols').value.split(',').filter(Boolean);
/** @returns {Record<string, string>} */
const lingerQuery = () => (input('linger').checked ? { linger: input('linger-ms').value } : {});

byId('open').addEventListener('click', () => open(echoUrl(lingerQuery()), protocolsChosen()));
byId('close').addEventListener('click', () => {
  if (!socket) return record('page', 'close()', 'no socket');
  const code = Number(input('close-code').value);
  const reason = input('close-reason').value;
  try {
    socket.close(code, reason);
    // Synchronously after close(): CLOSING already, before any frame has left.
    record('page', 'close()', `called with ${code} "${reason}"; readyState now ${stateLabel(socket.readyState)}`);
  } catch (error) {
    record('page', 'close() throws', String(error));
  }
});
byId('send-text').addEventListener('click', () => send(input('text').value, 'text'));
byId('send-arraybuffer').addEventListener('click', () => {
  const bytes = new TextEncoder().encode(input('text').value);
  send(bytes.buffer, `ArrayBuffer of ${bytes.byteLength} bytes`);
});
byId('send-blob').addEventListener('click', () => {
  const blob = new Blob([input('text').value]);
  send(blob, `Blob of ${blob.size} bytes`);
});
select('binary-type').addEventListener('change', () => {
  if (socket) socket.binaryType = /** @type {BinaryType} */ (select('binary-type').value);
  record('page', 'binaryType', select('binary-type').value);
});
byId('burst').addEventListener('click', burst);
byId('fail-origin').addEventListener('click', foreignOrigin);
byId('fail-protocol').addEventListener('click', () => open(echoUrl(), ['made-up.v0']));
byId('fail-port').addEventListener('click', () => {
  const url = new URL(echoUrl());
  url.port = input('closed-port').value;
  open(url.href, []);
});
byId('fail-server-close').addEventListener('click', () => open(echoUrl({ close: '4000' }), []));
byId('clear-log').addEventListener('click', () => log.replaceChildren());
const foreignName = otherLoopbackOrigin();
byId('foreign-origin').textContent = foreignName ?? 'needs this page on localhost or 127.0.0.1';

requestAnimationFrame(watch);
document.documentElement.dataset.ready = 'true';
