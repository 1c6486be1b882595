/**
 * The foreign page of the WebSocket lab: loaded in a frame from the lab's other loopback
 * name, so that its sockets carry a foreign Origin, as a cross-site hijacking page's would.
 * It opens one socket to `?target` and reports each event to `?parent` by postMessage.
 * Both must be loopback URLs: this page opens nothing else, and tells nobody else.
 */

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** @param {string | null} raw @param {string[]} schemes */
function loopbackUrl(raw, schemes) {
  try {
    const url = new URL(raw ?? '');
    return schemes.includes(url.protocol) && LOOPBACK.includes(url.hostname) ? url : null;
  } catch {
    return null;
  }
}

const query = new URLSearchParams(location.search);
const target = loopbackUrl(query.get('target'), ['ws:', 'wss:']);
const parentUrl = loopbackUrl(query.get('parent'), ['http:', 'https:']);

/** @param {string} event @param {string} detail */
function report(event, detail) {
  document.body.append(`${event}: ${detail}\n`);
  if (parentUrl) window.parent.postMessage({ event, detail }, parentUrl.origin);
}

if (!target || !parentUrl) {
  report('refused', 'target and parent must be loopback URLs');
} else {
  report('new WebSocket', `${target.href} from Origin ${location.origin}`);
  const socket = new WebSocket(target.href);
  socket.addEventListener('open', () => report('open', 'the server let a foreign page in'));
  socket.addEventListener('error', () => report('error', 'an Event with no detail: no status, no reason'));
  socket.addEventListener('close', (event) =>
    report('close', `code ${event.code}, reason "${event.reason}", wasClean ${event.wasClean}`),
  );
}
