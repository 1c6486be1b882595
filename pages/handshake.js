// The WebSocket opening handshake, explained on a page that shows a real one: the page
// derives Sec-WebSocket-Accept from the recorded Sec-WebSocket-Key itself, with the Web
// Crypto API, step by step, and shows it beside what the server sent; then the same
// handshake refused (a foreign Origin, an unknown version), as the server answered it.

/** The GUID RFC 6455 (§1.3, §4.2.2) appends to every key: a string no other protocol would hash. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * @typedef {object} AcceptSteps
 * @property {string} concatenated  the key followed by the GUID, as hashed
 * @property {string} sha1Hex  the 20 bytes of its SHA-1, in hex
 * @property {string} accept  those bytes in base64: the Sec-WebSocket-Accept a server must send
 */

/**
 * The Sec-WebSocket-Accept a server must answer to `key`, and each step to it.
 * @param {string} key  the client's Sec-WebSocket-Key, as sent (base64 of 16 random bytes)
 * @returns {Promise<AcceptSteps>}
 */
export async function acceptFor(key) {
  const concatenated = key + WEBSOCKET_GUID;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(concatenated)));
  const sha1Hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  const accept = btoa(String.fromCharCode(...digest));
  return { concatenated, sha1Hex, accept };
}

/**
 * The value of header `name` in an HTTP head (`name: value` lines), or null.
 * @param {string} head
 * @param {string} name
 */
export function headerOf(head, name) {
  const end = head.indexOf('\r\n\r\n');
  const lines = (end === -1 ? head : head.slice(0, end)).split('\r\n');
  const prefix = `${name.toLowerCase()}:`;
  const line = lines.find((candidate) => candidate.toLowerCase().startsWith(prefix));
  return line === undefined ? null : line.slice(prefix.length).trim();
}

/**
 * @typedef {{ request: string, response: string, responseBytes: number }} Transcript
 * @typedef {Transcript & { refused?: { foreignOrigin: Transcript, wrongVersion: Transcript } }} UpgradeTranscript
 */

/**
 * @param {string} id
 * @param {string} text
 */
function fill(id, text) {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}

/**
 * Fills the page's handshake section from `transcript` (GET /api/transcripts/<id> of a
 * technique that upgrades). Web Crypto exists only in a secure context (https, or
 * localhost and 127.0.0.1): reached over plain http at a LAN address, the page says so.
 * @param {UpgradeTranscript} transcript
 */
export async function showHandshake(transcript) {
  const key = headerOf(transcript.request, 'Sec-WebSocket-Key');
  const sent = headerOf(transcript.response, 'Sec-WebSocket-Accept');
  fill('handshake-key', key ?? '(no key in the request)');
  fill('handshake-server-accept', sent ?? '(no Sec-WebSocket-Accept in the answer)');
  fill('handshake-offered', headerOf(transcript.request, 'Sec-WebSocket-Protocol') ?? '(none offered)');
  fill('handshake-chosen', headerOf(transcript.response, 'Sec-WebSocket-Protocol') ?? '(none chosen)');
  if (transcript.refused) {
    fill('refused-request', transcript.refused.foreignOrigin.request);
    fill('refused-response', transcript.refused.foreignOrigin.response);
    fill('version-request', transcript.refused.wrongVersion.request);
    fill('version-response', transcript.refused.wrongVersion.response);
  }
  if (key === null) return;
  if (!globalThis.crypto?.subtle) {
    fill(
      'handshake-verdict',
      'this page cannot compute it here: the Web Crypto API exists only in a secure context (https, or localhost)',
    );
    return;
  }
  const steps = await acceptFor(key);
  fill('handshake-concatenated', steps.concatenated);
  fill('handshake-sha1', steps.sha1Hex);
  fill('handshake-computed-accept', steps.accept);
  fill(
    'handshake-verdict',
    steps.accept === sent
      ? '✓ the same: the server read the key as a WebSocket server must'
      : `✗ different from the server's ${sent}`,
  );
}
