// Fills a technique page with what the running server really does: the nav to the other
// registered techniques, a transcript of one real exchange (recorded by the server against
// itself, GET /api/transcripts/<id>) and the source of the very client module the
// side-by-side panel runs. The technique is the page's own file name,
// /techniques/<id>.html, so the page names no technique in its markup. A technique that
// upgrades also gets its handshake explained (handshake.js).
import { techniqueById, techniques } from '/contract/techniques.js';
import { showHandshake } from './handshake.js';
import { pageProtocol } from './protocol.js';
import { sequenceDiagram } from './sequence.js';
import { inWords } from './words.js';

const technique = decodeURIComponent(location.pathname.match(/\/techniques\/([^/]+)\.html$/)?.[1] ?? '');

/** The nav: back to all of them side by side, then every other registered technique. */
function showNav() {
  const nav = document.querySelector('nav[data-role="techniques"]');
  if (!nav) return;
  const all = document.createElement('a');
  all.href = '/';
  all.textContent = `← all ${inWords(techniques.length)} side by side`;
  nav.replaceChildren(all);
  for (const other of techniques) {
    if (other.id === technique) continue;
    const link = document.createElement('a');
    link.href = `/techniques/${other.id}.html`;
    link.textContent = other.title;
    link.title = other.summary;
    nav.append(' · ', link);
  }
}

/**
 * What the transcript's protocol means for this browser: over HTTP/2 the same request
 * goes as binary frames a person cannot read, so the transcript is the HTTP/1.1 exchange.
 * @param {string} recordedOver
 */
function protocolNote(recordedOver) {
  const browser = pageProtocol();
  if (!/^h[23]/.test(browser) || !recordedOver.startsWith('http/1.1')) return '';
  return techniqueById(technique)?.capabilities.upgrades
    ? `Your browser came over ${browser}, and still opens this WebSocket as shown: an HTTP/1.1 upgrade on a connection of its own.`
    : `Your browser came over ${browser}: it sends this same request as HTTP/2 frames on its one connection (the headers HPACK-compressed, binary); this is the HTTP/1.1 exchange, which reads as text.`;
}

async function showTranscript() {
  const request = /** @type {HTMLElement} */ (document.getElementById('transcript-request'));
  const response = /** @type {HTMLElement} */ (document.getElementById('transcript-response'));
  const note = /** @type {HTMLElement} */ (document.getElementById('transcript-note'));
  note.textContent = 'recording…';
  try {
    const answer = await fetch(`/api/transcripts/${technique}`, { cache: 'no-store' });
    const transcript = await answer.json();
    if (!answer.ok) throw new Error(transcript.message);
    request.textContent = transcript.request;
    response.textContent = transcript.response || '(nothing yet: the server is holding the request)';
    note.textContent = `recorded just now from this server, over ${transcript.protocol}: ${timing(transcript)}. ${protocolNote(transcript.protocol)}`;
    showSequence(transcript, request);
    if (techniqueById(technique)?.capabilities.upgrades) await showHandshake(transcript);
  } catch (error) {
    note.textContent = `could not record a transcript: ${/** @type {Error} */ (error).message}`;
  }
}

/**
 * What the recording measured, in words: for a held request, how long it waited and what
 * ended the wait; otherwise, how many bytes came back and when.
 * @param {{ responseBytes: number, firstByteMs: number | null, elapsedMs: number, publishedAtMs?: number | null }} transcript
 */
function timing({ responseBytes, firstByteMs, elapsedMs, publishedAtMs }) {
  const bytes = `${responseBytes.toLocaleString('en')}\u00a0B`;
  if (publishedAtMs !== undefined && firstByteMs !== null) {
    const held = `the server held the request for ${seconds(firstByteMs)}`;
    if (publishedAtMs === null) return `${held}, until another client published a message; then it answered (${bytes})`;
    const after = `${Math.max(0, firstByteMs - publishedAtMs)}\u00a0ms`;
    return `${held}: this recording published a message ${seconds(publishedAtMs)} in, and the answer (${bytes}) came ${after} later`;
  }
  if (firstByteMs === null) return `nothing came back in ${seconds(elapsedMs)}`;
  return `${bytes} came back, the first after ${seconds(firstByteMs)}, over the ${seconds(elapsedMs)} it listened`;
}

/**
 * The recorded exchange as a sequence diagram, above the transcript's text.
 * @param {import('./sequence.js').RecordedExchange} transcript @param {HTMLElement} beside the transcript's request
 */
function showSequence(transcript, beside) {
  const entry = techniqueById(technique);
  if (!entry) return;
  let figure = document.getElementById('sequence');
  if (!figure) {
    figure = document.createElement('figure');
    figure.id = 'sequence';
    figure.className = 'sequence';
    const caption = document.createElement('figcaption');
    caption.textContent =
      'The same exchange in time, going down: each arrow where it was measured, the server’s hold or open response as a bar on its lane.';
    figure.append(caption);
    const columns = beside.closest('.columns') ?? beside;
    columns.before(figure);
  }
  figure.querySelector('svg')?.remove();
  figure.prepend(sequenceDiagram(transcript, entry));
}

/** @param {number} ms */
function seconds(ms) {
  return `${(ms / 1000).toFixed(2)}\u00a0s`;
}

async function showClientCode() {
  const code = /** @type {HTMLElement} */ (document.getElementById('client-code'));
  const response = await fetch(`/clients/${technique}.js`);
  code.textContent = await response.text();
}

showNav();
document.getElementById('record-again')?.addEventListener('click', showTranscript);
showTranscript();
showClientCode().catch(() => undefined);
