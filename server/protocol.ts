/**
 * What differs between HTTP/1.1 and HTTP/2 where the server touches the connection
 * under a request. Over HTTP/2 a request is a stream of a session that other requests
 * share, and the connection-specific headers (`Connection`, `Keep-Alive`,
 * `Transfer-Encoding`, `Upgrade`) are forbidden (RFC 9113 §8.2.2): Node's compatibility
 * layer drops `Connection` with a warning and throws on the others.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';

/** Response headers that name the connection, which HTTP/2 forbids (RFC 9113 §8.2.2). */
export const CONNECTION_SPECIFIC_HEADERS = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
];

/** The session of an HTTP/2 request; undefined over HTTP/1.1. */
export function http2SessionOf(request: IncomingMessage): Http2Session | undefined {
  if (request.httpVersionMajor !== 2) return undefined;
  return (request as IncomingMessage & { stream?: { session?: Http2Session } }).stream?.session;
}

/**
 * The TCP connection under `socket`: itself on plain HTTP; under TLS, the socket the
 * TLS one wraps (what the server's `connection` event saw). An HTTP/2 request's `socket`
 * is a proxy that forwards such a read to its session's TLS socket.
 */
export function tcpSocketOf(socket: Socket): Socket {
  // `_parent`: the wrapped net.Socket of a TLSSocket (Node's _tls_wrap), null or absent otherwise.
  return (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
}

/**
 * Makes the connection of `request` close once `res` is answered: `Connection: close` on
 * HTTP/1.1; on HTTP/2, where that header does not exist, a GOAWAY to the session once the
 * answer is sent (its other streams finish; the client opens no new one there).
 */
export function closeConnectionAfter(request: IncomingMessage, res: ServerResponse): void {
  const session = http2SessionOf(request);
  if (!session) {
    if (!res.headersSent) res.setHeader('connection', 'close');
    return;
  }
  res.once('finish', () => {
    if (!session.closed && !session.destroyed) session.close();
  });
}
