/**
 * What one connection may take, as a plugin: the ConnectionGuard (connections.ts:
 * connections per address, pipelining one answer at a time, the write deadline), the
 * lingering close of an answer sent before its body (linger.ts), and the end of a
 * refused WebSocket handshake's socket.
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { ConnectionGuard } from '../connections.ts';
import { answersBeforeBody, lingerOnClose } from '../linger.ts';
import { CONNECTION_SPECIFIC_HEADERS, closeConnectionAfter, http2SessionOf } from '../protocol.ts';
import { requestHook, sendHook } from './sync-hooks.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The connection guard: `/api/stats` → `connections` reads its figures. */
    connections: ConnectionGuard;
  }
}

export interface ConnectionGuardOptions {
  config: Pick<Config, 'maxConnectionsPerAddress' | 'slowClientTimeoutMs'>;
}

/**
 * Installs the ConnectionGuard on the server (register it before the server listens),
 * decorates `app.connections`, and refuses the requests of a refused connection.
 */
export const connectionGuard = fp<ConnectionGuardOptions>(
  async (app, { config }) => {
    const connections = new ConnectionGuard(config);
    connections.install(app.server);
    app.decorate('connections', connections);
    app.addHook(
      'onRequest',
      requestHook((request, reply) => connections.checkAdmitted(request, reply)),
    );
    // An answer sent before its request's body has arrived (a 413, a 415...) closes the
    // connection (or Node would read an unbounded body to keep it), lingering so that the
    // client can read the answer.
    app.addHook(
      'onSend',
      sendHook((request, reply) => {
        connections.writeDeadline(reply.raw);
        // Over HTTP/2, whoever set one (Fastify sets `Connection: close` on a body it
        // refused), a connection-specific header would be dropped with a warning or throw.
        if (http2SessionOf(request.raw)) for (const name of CONNECTION_SPECIFIC_HEADERS) reply.removeHeader(name);
        if (!answersBeforeBody(request.raw)) return;
        // HTTP/2 ends one stream, not the connection: Node resets the stream (NO_ERROR)
        // once the answer is sent, which tells the client to stop sending its body.
        if (http2SessionOf(request.raw)) return;
        closeConnectionAfter(request.raw, reply.raw);
        lingerOnClose(request.raw);
      }),
    );
    // A refused WebSocket handshake (403, 426, 503) is answered over a socket Node handed
    // over for the upgrade and no longer tracks: close it, or a client that keeps it open
    // holds the server's shutdown forever.
    app.addHook(
      'onResponse',
      requestHook((request, reply) => {
        if (request.headers.upgrade !== undefined && reply.statusCode >= 400) request.raw.socket.end();
      }),
    );
  },
  { name: 'realtime-lab-connection-guard', fastify: '5.x' },
);
