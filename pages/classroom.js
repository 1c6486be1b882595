// The teacher's page: GET /api/classroom every second, drawn as one card per technique
// (from the registry, in its order and colours) listing the clients using it, a table
// by node, and the room's totals. Names and figures come from the server; the delays are
// what each student's page measured and reported. No address is ever shown: the server
// does not send one.
import { techniques } from '/contract/techniques.js';
import { el } from './panel.js';

/** How often the page asks, ms: the server samples its counters as often. */
const REFRESH_MS = 1000;

/**
 * @typedef {{ requests: number, bytesIn: number, bytesOut: number, requestsPerS: number, bytesPerS: number, open: number, delayMs: number | null }} Figures
 * @typedef {{ tag: string, part: string | null, nick: string | null, node: string, techniques: Record<string, Figures> }} Client
 * @typedef {{ clients: number, requests: number, bytes: number, requestsPerS: number, bytesPerS: number, delayMs: number | null }} Totals
 * @typedef {{ node: string, leaveAfterMs: number, sampleMs: number, rateWindowMs: number, nodes: { node: string, clients: Client[], unlisted: number }[], byTechnique: Record<string, Totals>, room: Totals }} Answer
 */

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`classroom.html has no #${id}`);
  return element;
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** @param {number | null} ms */
function formatDelay(ms) {
  return ms === null ? '–' : `${Math.round(ms)}\u00a0ms`;
}

/** @param {number} perS */
function formatRate(perS) {
  return perS < 10 ? perS.toFixed(1) : String(Math.round(perS));
}

/** @param {Totals} totals @param {string} [who] what `clients` counts */
function totalsInWords(totals, who = 'client') {
  return `${totals.clients} ${who}${totals.clients === 1 ? '' : 's'} · ${formatRate(totals.requestsPerS)} requests/s · ${formatBytes(totals.bytesPerS)}/s · delay median ${formatDelay(totals.delayMs)}`;
}

const address = /** @type {HTMLAnchorElement} */ (byId('join-address'));
address.href = `${location.origin}/`;
address.textContent = `${location.origin}/`;
const room = byId('room');
const freshness = byId('freshness');
const nodesBody = /** @type {HTMLTableSectionElement} */ (byId('nodes').querySelector('tbody'));
const cardsRoot = byId('techniques');

/** One card per technique, built once: only their contents change, so the layout stays put. */
const cards = new Map(
  techniques.map((technique) => {
    const card = el('section', { class: 'room-technique', 'data-technique': technique.id });
    // CSSOM, not a style attribute: the page's CSP allows no inline styles.
    card.style.setProperty('--technique', technique.colour);
    const heading = el('h2');
    heading.append(el('a', { href: `/techniques/${technique.id}.html` }, technique.title));
    const summary = el('p', { class: 'room-technique-totals', 'data-role': 'totals' }, 'nobody');
    const table = el('table', { class: 'classroom-table' });
    const head = el('thead');
    const row = el('tr');
    for (const label of ['who', 'node', 'requests', 'bytes', 'req/s', 'delay'])
      row.append(el('th', { 'data-figure': label }, label));
    head.append(row);
    const body = el('tbody');
    table.append(head, body);
    card.append(heading, summary, table);
    cardsRoot.append(card);
    return [technique.id, { summary, body }];
  }),
);

/** @param {Answer} answer */
export function render(answer) {
  room.textContent =
    answer.room.clients === 0
      ? 'Nobody is connected yet.'
      : `The room: ${totalsInWords(answer.room, 'student')}, ${formatBytes(answer.room.bytes)} so far.`;
  freshness.textContent = `Updated every ${answer.sampleMs / 1000} s; rates over the last ${answer.rateWindowMs / 1000} s; a page that closes leaves the list within ${answer.leaveAfterMs / 1000} s. Delays are each page's median, as it reported it.`;

  nodesBody.replaceChildren(
    ...answer.nodes.map((node) => {
      const row = el('tr', { 'data-node': node.node });
      const clients = node.clients.filter((client) => client.part === null).length + node.unlisted;
      const perS = node.clients.flatMap((client) => Object.values(client.techniques));
      row.append(
        el('td', {}, node.node === answer.node ? `${node.node} (this one)` : node.node),
        el('td', {}, node.unlisted ? `${clients} (${node.unlisted} not listed)` : String(clients)),
        el('td', {}, formatRate(perS.reduce((sum, figures) => sum + figures.requestsPerS, 0))),
        el('td', {}, `${formatBytes(perS.reduce((sum, figures) => sum + figures.bytesPerS, 0))}/s`),
      );
      return row;
    }),
  );

  cardsRoot.dataset.nodes = String(answer.nodes.length);
  // In a stable order (by name, then tag), not the server's most-recent-last: rows that
  // swap places every second cannot be read from the back of the room.
  const listed = answer.nodes.flatMap((node) => node.clients.map((client) => ({ node, client })));
  listed.sort((a, b) => whoIs(a.client).localeCompare(whoIs(b.client)) || a.node.node.localeCompare(b.node.node));
  for (const [id, { summary, body }] of cards) {
    const totals = answer.byTechnique[id];
    summary.textContent = totals ? totalsInWords(totals) : 'nobody';
    const rows = [];
    for (const { node, client } of listed) {
      const figures = client.techniques[id];
      if (!figures) continue;
      const row = el('tr', { 'data-client': client.tag, 'data-open': String(figures.open) });
      row.append(
        el('td', { 'data-figure': 'who' }, whoIs(client)),
        el('td', { 'data-figure': 'node' }, node.node),
        el('td', { 'data-figure': 'requests' }, String(figures.requests)),
        el('td', { 'data-figure': 'bytes' }, formatBytes(figures.bytesIn + figures.bytesOut)),
        el('td', { 'data-figure': 'rate' }, formatRate(figures.requestsPerS)),
        el('td', { 'data-figure': 'delay' }, formatDelay(figures.delayMs)),
      );
      rows.push(row);
    }
    body.replaceChildren(...rows);
  }
}

/** @param {Client} client its nickname (if it joined the chat), its tag, and which extra client of its page it is */
function whoIs(client) {
  const name = `${client.nick ? `${client.nick} ` : ''}·${client.tag}`;
  return client.part ? `${name} (${client.part})` : name;
}

async function refresh() {
  try {
    const response = await fetch('/api/classroom', { cache: 'no-store' });
    render(await response.json());
  } catch {
    freshness.textContent = 'The server does not answer: the figures above are the last it sent.';
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
