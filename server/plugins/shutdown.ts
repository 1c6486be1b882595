/**
 * A polite shutdown, as a plugin: every held request and connection is told goodbye in
 * one pass, the answers in flight are waited for, then (`preClose`) the sockets are cut.
 *
 * Shutdown waits for last words and answers, not for peers to hang up: a socket whose
 * last bytes are in the kernel's hands has nothing left to say, and peers answering
 * thousands of close frames, or Node tearing down thousands of sockets one by one, would
 * each take longer than telling them all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Server } from 'node:net';
import fp from 'fastify-plugin';
import type { ConnectionKey, LastWords } from '../transport.ts';
import { trackSecureConnections } from '../secure-connections.ts';
import { requestHook } from './sync-hooks.ts';

/**
 * How long shutdown waits for the last words (end events, answers, close frames) and the
 * answers in flight to be handed to the kernel before the sockets are cut anyway, ms: a
 * client that stopped reading cannot take its last words.
 */
export const SHUTDOWN_GRACE_MS = 500;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Keeps a held request or connection so that shutdown can end it; see
     * `TransportContext.hold`.
     */
    hold(request: ConnectionKey, client: LastWords): void;
    /** Forgets a held request or connection that ended by itself. */
    release(request: ConnectionKey): void;
    /**
     * Says goodbye to every client, for a shutdown: stops accepting connections, ends
     * every held request and connection politely in one pass (an `end` event, an answer,
     * a 1001 close frame; one held later is ended at once), and resolves once those last
     * words and every answer in flight have been handed to the kernel, or after
     * SHUTDOWN_GRACE_MS. The sockets stay open: `app.close()` cuts them next, or the
     * process exits and the kernel closes them, each after its last bytes. Calling it
     * again returns the same promise.
     */
    farewell(): Promise<void>;
    /** The request of an upgraded connection owes no HTTP answer: shutdown stops waiting for one. */
    answerNotDue(request: IncomingMessage): void;
  }
}

/** Decorates `hold`, `release`, `farewell` and `answerNotDue`, and cuts every socket on `preClose`. */
export const shutdown = fp(
  async (app) => {
    // Held requests and connections, each with what ends it politely.
    const held = new Map<ConnectionKey, LastWords>();
    // Requests whose answer has not left yet (a publish in flight), with that answer:
    // shutdown waits for them too. A WebSocket leaves when upgraded, a held request when told.
    const answering = new Map<ConnectionKey, ServerResponse | Http2ServerResponse>();
    const toldSockets: Socket[] = [];
    let farewell: Promise<void> | undefined;
    let lastWordsUnsent = 0;
    let saidEverything: (() => void) | undefined;
    const secure = trackSecureConnections(app.server as Server);

    const settle = () => {
      if (lastWordsUnsent === 0 && answering.size === 0) saidEverything?.();
    };
    // One listener for every response, not a closure per request: `this` is the response
    // (`req` checked all the same: see wire.ts, #responseClosed).
    function answered(this: Partial<Pick<ServerResponse | Http2ServerResponse, 'req'>>) {
      if (this.req) answering.delete(this.req);
      settle();
    }
    const answerNotDue = (request: ConnectionKey) => {
      answering.get(request)?.removeListener('close', answered);
      answering.delete(request);
    };
    const tell = (request: ConnectionKey, client: LastWords) => {
      answerNotDue(request);
      toldSockets.push(request.socket);
      lastWordsUnsent += 1;
      void client.sayLastWords().then(() => {
        lastWordsUnsent -= 1;
        settle();
      });
    };

    app.decorate(
      'farewell',
      () =>
        (farewell ??= new Promise<void>((resolve) => {
          // Over HTTP/2, Fastify answers this with a GOAWAY to every session: no new
          // streams there; the open ones take their last words below.
          if (app.server.listening) app.server.close();
          // One synchronous pass: every client's last words are written before any is waited for.
          for (const [request, client] of held) tell(request, client);
          held.clear();
          const grace = setTimeout(resolve, SHUTDOWN_GRACE_MS);
          saidEverything = () => {
            clearTimeout(grace);
            resolve();
          };
          settle();
        })),
    );
    app.decorate('hold', (request: ConnectionKey, client: LastWords) => {
      if (farewell) tell(request, client);
      else held.set(request, client);
    });
    app.decorate('release', (request: ConnectionKey) => {
      held.delete(request);
    });
    app.decorate('answerNotDue', answerNotDue);

    app.addHook(
      'onRequest',
      requestHook((request, reply) => {
        answering.set(request.raw, reply.raw);
        // `on`: a response emits 'close' once, and `once` costs a wrapper per connection (connections.ts, #admit).
        reply.raw.on('close', answered);
      }),
    );
    app.addHook('preClose', async () => {
      await app.farewell();
      // Then cut every socket, as the process's exit would: those of the told clients,
      // idle keep-alive connections, and whatever did not finish within the grace.
      for (const socket of toldSockets) socket.destroy();
      // An HTTP/2 server (TLS) has no closeAllConnections: its connections are listed apart.
      if (typeof app.server.closeAllConnections === 'function') app.server.closeAllConnections();
      secure.destroyAll();
    });
  },
  { name: 'realtime-lab-shutdown', fastify: '5.x' },
);
