/**
 * `/api/echo`: the echo server the WebSocket tutorials start with, for the WebSocket lab
 * page (pages/websocket-lab.html). It sends every message back as it came, text as text
 * and binary as binary, under the feed socket's limits (maxPayload = the body limit, the
 * ping budget, 1008 past it) and its Origin policy. Not a feed technique: it is not in the
 * registry, and the wire meter counts it under `other`.
 *
 * Two query parameters let the lab provoke what is otherwise hard to see:
 * `?close=CODE` (1000 or 3000–4999) has the server close at once with that code, and
 * `?linger=MS` (up to MAX_LINGER_MS) delays its answer to the client's close frame, so
 * that the browser's CLOSING state lasts long enough to be seen. Other values are ignored.
 */
import { EventEmitter } from 'node:events';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { AbuseMeter } from './abuse.ts';
import type { Config } from './config.ts';
import { CLOSE } from './contract/formats/websocket.js';
import { UpgradeRequired } from './errors.ts';
import { checkSocketOrigin } from './origin.ts';
import { chooseSubprotocol } from './contract/formats/websocket.js';
import { checkSubprotocols, cutAfterGrace, pingBudget, socketErrorHandler } from './transports/websocket.ts';

/** Where the echo answers. */
export const ECHO_PATH = '/api/echo';
/** The longest `?linger=MS` honoured: long enough to watch CLOSING, short enough to hold nothing. */
export const MAX_LINGER_MS = 5000;

export interface EchoOptions {
  config: Config;
  abuse: AbuseMeter;
}

/** Registers `/api/echo` in a scope of its own. */
export async function echo(app: FastifyInstance, { config, abuse }: EchoOptions): Promise<void> {
  // @fastify/websocket routes every upgrade through the whole app from a listener on the
  // HTTP server, once per registration: a second listener would upgrade each request twice.
  // Where the feed socket's registration already listens, this one takes the upgrades it
  // routes here (the plugin marks them the same way) and listens to nothing itself.
  const shared = app.server.listenerCount('upgrade') > 0;
  await app.register(async (scope) => {
    await scope.register(fastifyWebsocket, {
      options: {
        maxPayload: config.bodyLimitBytes,
        perMessageDeflate: false,
        // Pings are answered below, within the same budget as the feed socket's.
        autoPong: false,
        ...(shared && { server: new EventEmitter() as never }),
        // The feed socket's subprotocol policy, the same names (it echoes either the same
        // way): an offer of only names it does not speak was refused before the upgrade.
        handleProtocols: (offered: Set<string>) => chooseSubprotocol([...offered]) ?? false,
      },
      // A protocol error from ws (already answered with its close frame) is counted; anything else is logged.
      errorHandler: socketErrorHandler(abuse, 'echo', 'server error'),
    });
    scope.route({
      method: 'GET',
      url: ECHO_PATH,
      preValidation: async (request) => {
        checkSocketOrigin(request, config.allowedOrigins);
        checkSubprotocols(request);
      },
      handler: async () => {
        throw new UpgradeRequired(ECHO_PATH);
      },
      wsHandler: (socket, request) => serveEcho(socket, request, config, abuse),
    });
  });
}

function serveEcho(socket: WebSocket, request: FastifyRequest, config: Config, abuse: AbuseMeter): void {
  const query = request.query as Record<string, unknown>;
  const closeCode = closeCodeOf(query.close);
  if (closeCode !== undefined) {
    socket.close(closeCode, `closed by the server as asked (?close=${closeCode})`);
    cutAfterGrace(socket);
    return;
  }
  const linger = lingerOf(query.linger);
  if (linger > 0) delayCloseAnswer(socket, linger);

  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (socket.readyState === socket.OPEN) socket.send(data as Buffer, { binary: isBinary });
  });

  const pingWithinBudget = pingBudget(config.wsPingBudget);
  socket.on('ping', (data: Buffer) => {
    if (socket.readyState !== socket.OPEN) return;
    if (pingWithinBudget()) {
      socket.pong(data);
      return;
    }
    abuse.report('websocketPolicyCloses', request.log, { reason: 'too many pings' }, 'echo closed with 1008');
    socket.close(CLOSE.POLICY_VIOLATION, 'too many pings');
    cutAfterGrace(socket);
  });

  // A peer that vanished without a close frame is noticed at the next heartbeat.
  let alive = true;
  const heartbeat = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
  }, config.heartbeatMs);
  socket.on('pong', () => {
    alive = true;
  });
  socket.on('close', () => clearInterval(heartbeat));
}

/** `?close=`: a code a server may send (1000, or the 3000–4999 range left to applications). */
function closeCodeOf(raw: unknown): number | undefined {
  const code = typeof raw === 'string' && /^\d{4}$/.test(raw) ? Number(raw) : Number.NaN;
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : undefined;
}

/** `?linger=`: whole milliseconds, at most MAX_LINGER_MS; 0 when absent or malformed. */
function lingerOf(raw: unknown): number {
  const ms = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : 0;
  return Math.min(ms, MAX_LINGER_MS);
}

/**
 * Holds back ws's answer to the client's close frame for `ms`. ws answers it the moment it
 * is parsed, from the listener of its receiver's `conclude` event; that listener (not a
 * public API, checked here so that a ws upgrade that renames it fails loudly) is called
 * late instead.
 */
function delayCloseAnswer(socket: WebSocket, ms: number): void {
  const receiver = (socket as unknown as { _receiver?: EventEmitter })._receiver;
  const [answer, ...others] = receiver?.listeners('conclude') ?? [];
  if (!receiver || typeof answer !== 'function' || others.length > 0) {
    throw new Error('ws internals changed: cannot delay the close answer (?linger)');
  }
  receiver.removeAllListeners('conclude');
  receiver.on('conclude', (...args: unknown[]) => {
    setTimeout(() => answer.apply(receiver, args), ms).unref();
  });
}
