/**
 * Lingering close, as nginx's `lingering_close`: when the server answers a request
 * before its body has arrived (a 413 for a body over the limit, a 415...), it must close
 * the connection, and a plain close loses the answer. The client is still sending; data
 * arriving at a closed socket makes the kernel answer with a reset, and a reset throws
 * away whatever the client had not read yet, the answer included: Node's `fetch` then
 * reports EPIPE or ECONNRESET instead of the 413.
 *
 * So the server writes its answer, half-closes (FIN: the client sees the answer end),
 * and reads on, discarding, until the client closes its side, for at most LINGER_MAX_MS
 * and LINGER_MAX_BYTES, so that a client cannot make it read forever.
 */
import type { IncomingMessage } from 'node:http';

/** Longest a connection stays open after its last answer, reading what the client still sends, ms. */
export const LINGER_MAX_MS = 2000;
/**
 * Most bytes of request body read and discarded after the answer before the connection
 * is cut. Loopback clients were measured with up to 8 MB in flight (socket buffers) when
 * they got their 413: twice that, so that a client that stops when answered is not cut.
 */
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Whether the answer to `request` is sent before its body has fully arrived, so that its
 * connection must close, lingering. A WebSocket handshake has no body to wait for, and
 * a refused one is ended elsewhere.
 */
export function answersBeforeBody(request: IncomingMessage): boolean {
  return !request.complete && request.headers.upgrade === undefined;
}

/**
 * Makes the close that follows the answer to `request` a lingering one. Node's HTTP
 * server ends a connection after its last answer with `socket.destroySoon()`, which
 * destroys the socket as soon as its FIN is sent, unread data or not: this socket's own
 * `destroySoon` ends it and waits instead. The body is read here, counted against
 * LINGER_MAX_BYTES, rather than left to Node, which would drain it without a bound.
 */
export function lingerOnClose(request: IncomingMessage): void {
  const socket = request.socket;
  let discarded = 0;
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) socket.destroy();
  });
  socket.destroySoon = () => {
    socket.end();
    const deadline = setTimeout(() => socket.destroy(), LINGER_MAX_MS);
    // The client's FIN: it sends nothing more, and has read the answer or never will.
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(deadline));
  };
}
