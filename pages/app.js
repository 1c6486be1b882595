// The side-by-side page: one panel per registered technique, each with its own client of
// that technique, all reading the one feed. Everything technique-specific comes from the
// server's registry (/contract/techniques.js), by capability, and from each technique's
// client file (/clients/<id>.js): this file names no technique. The figures under "wire"
// come from the server's socket accounting for this page's clients
// (GET /api/stats?client=...), not from guesses in the browser.
import { techniques } from '/contract/techniques.js';
import { CLOCK_RESAMPLE_AFTER_MS, ServerClock } from './clock.js';
import { AutoPanel } from './auto/auto-panel.js';
import { reportDelays } from './classroom-report.js';
import { anotherTabIsOpen, greeting, notListedNotice, renderPresence, showSecondTabNotice } from './chat.js';
import { Panel, el } from './panel.js';
import { multiplexed, pageProtocol, watchRequestProtocols } from './protocol.js';
import { showSending } from './waiting.js';
import { inSentence, inWords, listed } from './words.js';
import { newClientId } from './client-id.js';

/** How often the panels refresh their wire figures from the server, ms. */
const STATS_EVERY_MS = 1000;
/** Ticker rates offered, messages per second; bounded so a classroom laptop copes. */
export const TICKER_RATES = [0, 1, 5, 20];

// One id for all of this page's clients: the server keeps their bytes apart by technique.
const clientId = newClientId();
// The server's clock, for the panels' delays: sampled at once, and again once the
// clients are open and the page is quiet, when round trips are shortest.
const clock = new ServerClock();

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element;
}

// The words of the page that depend on which techniques there are.
const count = inWords(techniques.length);
document.title = `realtime-lab: ${count} realtime techniques side by side`;
byId('technique-count').textContent = count;
const held = techniques.filter((technique) => technique.capabilities.holdsRequest);
const heldTitles = listed(held.map((technique) => inSentence(technique.title)));
byId('held-connections').textContent =
  `${inWords(held.length)} HTTP connection${held.length === 1 ? '' : 's'} open (${heldTitles})`;
// Over HTTP/2 the held requests are streams of the one connection every tab of this
// browser shares with this server: the six per host no longer bind, so neither the
// one-tab sentence nor the second tab's notice applies.
byId('page-protocol').textContent = pageProtocol() || 'an unknown protocol';
const sharesOneConnection = multiplexed();
if (sharesOneConnection)
  byId('connections-note').textContent =
    `Over HTTP/2, its ${inWords(held.length)} held request${held.length === 1 ? '' : 's'} (${heldTitles}) and every poll are streams of one connection, shared by every tab of this browser: the six connections per host of HTTP/1.1 do not bind, so open as many tabs as you like. A WebSocket still takes a connection of its own (an HTTP/1.1 upgrade).`;

const root = byId('panels');
const online = byId('online');
const greetingLine = byId('greeting');
let greeted = false;
const panels = techniques.map(
  (technique) =>
    new Panel({
      technique,
      root,
      clientId,
      serverNow: () => clock.now(),
      heard: (ts) => clock.heard(ts),
      rttMs: () => clock.rtt,
    }),
);
const clientsLoaded = Promise.all(panels.map((panel) => panel.load()));
// After the technique panels, not a registry line: it runs their clients, one at a time
// or two during an upgrade, under ids of its own. `?auto=upgrade` starts it upgrading.
const autoPanel = new AutoPanel({
  root,
  techniques,
  clientId,
  serverNow: () => clock.now(),
  strategy: new URLSearchParams(location.search).get('auto') === 'upgrade' ? 'upgrade' : 'fallback',
});
watchRequestProtocols(
  panels.map((panel) => panel.technique.id),
  clientId,
  (id, counts) => panels.find((panel) => panel.technique.id === id)?.showProtocols(counts),
);

// The composer can send over the connection of every two-way technique (that is the point:
// only they publish on the connection they receive on; the message still reaches every
// panel), or with POST. The first two-way technique is the default.
const form = /** @type {HTMLFormElement} */ (byId('composer'));
const status = byId('composer-status');
const viaPost = byId('via-post');
for (const technique of techniques.filter((entry) => entry.capabilities.twoWay)) {
  const label = el('label');
  label.append(
    el('input', { type: 'radio', name: 'via', value: technique.id }),
    document.createTextNode(` the ${technique.title}`),
  );
  viaPost.before(label);
}
// The chat: the page's clients join under the nickname when asked (the other lessons of
// this page count on a feed that only their own messages fill, and a join is a message),
// as a fresh guest per window so that two windows are two people; a new nickname
// reconnects every client under it.
const nickname = /** @type {HTMLInputElement} */ (form.elements.namedItem('author'));
nickname.value = `guest-${clientId.slice(-4)}`;
const nicknameNow = () => nickname.value.trim() || 'anonymous';
const joinButton = /** @type {HTMLButtonElement} */ (byId('join'));
let joined = false;
/** When this page last joined (or rejoined under a new nickname), epoch ms. */
let joinedAt = 0;
/** Reconnects every client as the chatter it now is (or as nobody). */
function rejoin() {
  joinedAt = Date.now();
  for (const panel of panels) {
    if (!panel.client) continue;
    panel.client.nick = joined ? nicknameNow() : undefined;
    panel.client.close();
    panel.client.open(panel.client.cursor);
  }
}
joinButton.addEventListener('click', () => {
  joined = !joined;
  joinButton.textContent = joined ? 'Leave the chat' : 'Join the chat';
  if (!joined) greetingLine.textContent = '';
  greeted = false;
  rejoin();
});
nickname.addEventListener('change', () => {
  if (joined) rejoin();
});

const firstVia = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="via"]'));
if (firstVia) firstVia.checked = true;

/**
 * Publishes over the connection of the panel of `via` (when two-way and open) or with POST;
 * resolves with the id the server stored, rejects with the server's reason.
 * @param {string} author @param {string} text @param {string} [via] a technique id, or anything else for POST
 * @returns {Promise<{ id: number, via: string }>}
 */
async function publish(author, text, via = 'post') {
  const client = panels.find((panel) => panel.technique.id === via && panel.technique.capabilities.twoWay)?.client;
  const answer = client ? client.publish(author, text) : null;
  if (client && answer) return { id: await answer, via: `over the ${client.technique.title}` };
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

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const author = String(data.get('author') ?? '').trim() || 'anonymous';
  const text = String(data.get('text') ?? '');
  if (!text) return;
  const stopWaiting = showSending(status);
  try {
    const { id, via } = await publish(author, text, String(data.get('via')));
    status.textContent = `stored as #${id}, sent ${via}`;
    /** @type {HTMLInputElement} */ (form.elements.namedItem('text')).value = '';
  } catch (error) {
    status.textContent = `not sent: ${/** @type {Error} */ (error).message}`;
  } finally {
    stopWaiting();
  }
});

// The ticker publishes N messages a second, to show what high rates do to each technique.
const ticker = /** @type {HTMLSelectElement} */ (byId('ticker'));
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

// The polling interval: the one knob that trades delay for requests, for the techniques
// that keep asking while nothing happens.
const pollers = panels.filter((panel) => panel.technique.capabilities.pollsWhenIdle);
const interval = /** @type {HTMLInputElement} */ (byId('poll-interval'));
const intervalLabel = byId('poll-interval-value');
byId('poll-interval-name').textContent = `${listed(pollers.map((panel) => panel.technique.title))} interval`;
byId('poll-interval-knob').hidden = pollers.length === 0;
const applyInterval = () => {
  intervalLabel.textContent = `${interval.value} ms`;
  for (const panel of pollers) if (panel.client) panel.client.intervalMs = Number(interval.value);
};
interval.addEventListener('input', applyInterval);

async function refreshPresence() {
  try {
    const response = await fetch('/api/presence', { cache: 'no-store' });
    const answer = await response.json();
    renderPresence(online, answer, techniques);
    if (greeted || !joined) return;
    const words = greeting(answer, nicknameNow());
    if (words) {
      greetingLine.textContent = words;
      greeted = true;
    } else {
      // Replaced by the greeting as soon as a later join gets through.
      greetingLine.textContent = notListedNotice(answer, nicknameNow(), Date.now() - joinedAt) ?? '';
    }
  } catch {
    // The server is away; the list keeps its last state.
  }
}

async function refreshStats() {
  try {
    const response = await fetch(`/api/stats?client=${clientId}`, { cache: 'no-store' });
    const stats = await response.json();
    for (const panel of panels) panel.update(stats.techniques[panel.technique.id]);
  } catch {
    // The server is away; the panels show their clients reconnecting.
  }
}

/** Every second, each panel compares itself with the newest message any panel has shown. */
function watchPanels() {
  const newest = Math.max(0, ...panels.map((panel) => panel.newestId));
  for (const panel of panels) panel.watch(newest);
}

let statsTimer = /** @type {ReturnType<typeof setInterval> | undefined} */ (undefined);
let watchTimer = /** @type {ReturnType<typeof setInterval> | undefined} */ (undefined);
let frame = 0;
/** Stops the classroom's delay reports (/classroom.html). */
let stopReporting = () => {};
function draw() {
  for (const panel of panels) panel.timeline.draw();
  frame = requestAnimationFrame(draw);
}

function start() {
  // Live from now: the page shows what is published while it is open.
  for (const panel of panels) panel.client?.open(panel.client.cursor);
  autoPanel.start().catch((error) => console.error('the auto panel did not start:', error));
  // Not before: a join reconnects clients, and one before their first open would open them twice.
  joinButton.disabled = false;
  statsTimer = setInterval(() => {
    refreshStats();
    refreshPresence();
  }, STATS_EVERY_MS);
  watchTimer = setInterval(watchPanels, 1000);
  frame = requestAnimationFrame(draw);
  stopReporting = reportDelays(clientId, panels);
}

// Close every connection when the page goes away (and reopen after back/forward), so a
// tab in the cache does not hold connections of the browser's six per host (HTTP/1.1),
// nor streams the server would keep feeding (HTTP/2).
window.addEventListener('pagehide', () => {
  for (const panel of panels) panel.client?.close();
  autoPanel.stop();
  clearInterval(statsTimer);
  clearInterval(watchTimer);
  clearInterval(tickerTimer);
  cancelAnimationFrame(frame);
  stopReporting();
});
window.addEventListener('pageshow', (event) => {
  if (event.persisted) start();
});

clock.sample(4).catch(() => undefined);
// After the page's load event: a forever iframe never finishes loading, and one created
// earlier would hold the page's own load event (and the browser's spinner) forever.
const loaded = new Promise((resolve) => {
  if (document.readyState === 'complete') resolve(undefined);
  else window.addEventListener('load', resolve, { once: true });
});
Promise.all([clientsLoaded, loaded, sharesOneConnection ? false : anotherTabIsOpen()]).then(([, , secondTab]) => {
  applyInterval();
  if (secondTab) {
    showSecondTabNotice(byId('tab-notice'), held.length);
    return;
  }
  start();
  setTimeout(() => clock.sample().catch(() => undefined), CLOCK_RESAMPLE_AFTER_MS);
});
