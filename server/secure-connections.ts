/**
 * The connections of a TLS server, which Node's HTTP/2 server does not list for us: an
 * `http.Server` has `closeAllConnections()`, an `Http2SecureServer` (HTTP/2 and, by ALPN,
 * HTTP/1.1) has nothing of the kind. Shutdown needs them to cut what is left after the
 * grace. (The GOAWAY each HTTP/2 session gets at the farewell is Fastify's: it closes its
 * sessions when the server stops listening.)
 */
import type { ServerHttp2Session } from 'node:http2';
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** The open TLS connections of a server, and the HTTP/2 sessions among them. */
export interface SecureConnections {
  /** Cuts every TLS connection, HTTP/2 and HTTP/1.1 alike. */
  destroyAll(): void;
}

/** Starts listing the TLS connections and HTTP/2 sessions of `server` (none on a plain HTTP server). */
export function trackSecureConnections(server: Server): SecureConnections {
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    destroyAll() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}
