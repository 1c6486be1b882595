/**
 * WebSocket: one HTTP request upgraded into a two-way connection of frames. Messages go
 * down as JSON text frames; the client can publish up the same connection. The only
 * technique here that is two-way on one connection.
 *
 * Frames, server to client: a message is its JSON (`{"id","ts","author","text"}`); every
 * other frame has a `type`: `epoch` (the first frame), `ack`, `error`, `gap`, `reset`, `end`.
 * Client to server: `{"type":"publish","author","text"}` with an optional `"ref"` string
 * that the ack or error echoes.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { clientOf } from '../api.ts';
import { ForbiddenOrigin, UpgradeRequired } from '../errors.ts';
import { checkPublish } from '../message.ts';
import type { Message } from '../message.ts';
import {
  type ControlEvent,
  type EndReason,
  STREAM_HIGH_WATER_BYTES,
  type Transport,
  type TransportContext,
  encode,
  epochOf,
  followFeed,
  sinceOf,
} from '../transport.ts';

/** Close codes this server uses (RFC 6455 §7.4.1). */
export const CLOSE = Object.freeze({
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** The client kept sending frames it was told were bad. */
  POLICY_VIOLATION: 1008,
  /** The client stopped reading and its buffer stayed full. */
  TRY_AGAIN_LATER: 1013,
});

/** Bad frames in a row after which the client is disconnected rather than answered. */
export const MAX_BAD_FRAMES_IN_A_ROW = 10;
/** Longest `ref` a publish frame may carry, in characters. */
export const MAX_REF_CHARS = 64;
/** After a close frame, how long a peer has to answer before its socket is cut, ms. */
const CLOSE_GRACE_MS = 1000;

export const websocket: Transport = {
  id: 'websocket',
  summary: 'one upgraded connection, frames both ways',
  upgrade: true,
  async register(scope, context) {
    const { config } = context;
    // Registered here, inside this technique's scope, and nowhere else.
    await scope.register(fastifyWebsocket, {
      options: {
        // A publish frame is at most a publish body: no reason to accept ws's 100 MiB default.
        maxPayload: config.bodyLimitBytes,
        perMessageDeflate: false,
      },
    });
    scope.route({
      method: 'GET',
      url: '/',
      // Runs before the upgrade, so a bad request gets a plain HTTP 4xx, not a socket.
      preValidation: async (request) => {
        checkOrigin(request, config.allowedOrigins);
        sinceOf(request.query);
        epochOf(request.query);
      },
      handler: async () => {
        throw new UpgradeRequired();
      },
      wsHandler: (socket, request) => serveSocket(socket, request, context),
    });
  },
};

/**
 * Browsers send the page's Origin with a WebSocket handshake and, unlike fetch, do not
 * enforce any cross-origin rule on the answer: the server has to. A request without an
 * Origin is not from a browser page (a CLI, the bench) and is let through.
 */
function checkOrigin(request: FastifyRequest, allowed: readonly string[]): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (allowed.includes(origin)) return;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // A malformed Origin matches nothing.
  }
  if (host !== null && host === request.headers.host) return;
  throw new ForbiddenOrigin(JSON.stringify(origin), allowed.length ? `, ${allowed.join(', ')}` : '');
}

function serveSocket(socket: WebSocket, request: FastifyRequest, context: TransportContext): void {
  const { feed, config } = context;
  context.upgraded(request.raw);
  const abort = new AbortController();
  let ending: EndReason | 'hangup' = 'hangup';
  let badFramesInARow = 0;
  let alive = true;
  let lastSend: Promise<void> = Promise.resolve();
  let stallTimer: NodeJS.Timeout | undefined;

  const stop = (why: EndReason | 'hangup') => {
    if (abort.signal.aborted) return;
    ending = why;
    abort.abort();
  };
  const send = (frame: string): boolean => {
    lastSend = new Promise((resolve) => socket.send(frame, () => resolve()));
    return socket.bufferedAmount < STREAM_HIGH_WATER_BYTES;
  };
  const sendControl = (frame: object) => send(JSON.stringify(frame));

  // Ping every heartbeat; a peer that has not answered the previous ping is gone.
  const heartbeat = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, config.heartbeatMs);
  socket.on('pong', () => {
    alive = true;
  });

  // Answers go out in the order the frames came in (a publish awaits the feed, an error
  // does not), so a run of bad frames is counted as a run.
  let answered: Promise<void> = Promise.resolve();
  socket.on('message', (data: RawData, isBinary: boolean) => {
    const answer = handleFrame(data, isBinary);
    answered = answered.then(() => answer).then((reply) => {
      if (socket.readyState !== socket.OPEN) return;
      sendControl(reply);
      badFramesInARow = reply.type === 'error' ? badFramesInARow + 1 : 0;
      if (badFramesInARow >= MAX_BAD_FRAMES_IN_A_ROW) {
        socket.close(CLOSE.POLICY_VIOLATION, 'too many bad frames');
      }
    });
  });

  async function handleFrame(data: RawData, isBinary: boolean): Promise<{ type: 'ack' | 'error' } & Record<string, unknown>> {
    if (isBinary) return { type: 'error', message: 'binary frames are not accepted: send JSON text frames' };
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return { type: 'error', message: 'frame is not JSON: send {"type":"publish","author":"...","text":"..."}' };
    }
    const record = typeof frame === 'object' && frame !== null && !Array.isArray(frame) ? (frame as Record<string, unknown>) : {};
    const ref = typeof record.ref === 'string' && [...record.ref].length <= MAX_REF_CHARS ? record.ref : undefined;
    const withRef = <T extends object>(reply: T) => (ref === undefined ? reply : { ...reply, ref });
    if (record.type !== 'publish') {
      return withRef({ type: 'error' as const, message: 'unknown frame type: the only frame a client sends is {"type":"publish",...}' });
    }
    if (record.ref !== undefined && ref === undefined) {
      return { type: 'error', message: `"ref" must be a string of at most ${MAX_REF_CHARS} characters` };
    }
    const checked = checkPublish(frame, config, ['type', 'ref']);
    if (!checked.ok) return withRef({ type: 'error' as const, message: checked.message });
    try {
      // A flood is answered with error frames, and counts towards the 1008 below.
      context.limitPublish(request.raw, clientOf(request.query));
    } catch (error) {
      return withRef({ type: 'error' as const, message: (error as Error).message });
    }
    try {
      const message: Message = await feed.publish(checked.value);
      return withRef({ type: 'ack' as const, id: message.id });
    } catch (error) {
      // The feed's backplane is away: its 503 message says so. Anything else is a bug, logged.
      if ((error as { statusCode?: number }).statusCode === 503) return withRef({ type: 'error' as const, message: (error as Error).message });
      request.log.error(error, 'publish over WebSocket failed');
      return withRef({ type: 'error' as const, message: 'the feed could not store the message; try again' });
    }
  }

  const release = context.hold(() => stop('shutdown'));
  socket.on('close', () => {
    clearInterval(heartbeat);
    stop('hangup');
  });

  const outlet = {
    message(message: Message): boolean {
      const { json, bytes } = encode(message);
      context.delivered(request.raw, 1, bytes);
      return send(json);
    },
    control: (event: ControlEvent) => sendControl(event),
    drained(): Promise<void> {
      stallTimer = setTimeout(() => stop('slow'), config.slowClientTimeoutMs);
      return lastSend.then(() => clearTimeout(stallTimer));
    },
  };

  void followFeed(feed, sinceOf(request.query), epochOf(request.query), outlet, abort.signal).then(() => {
    clearTimeout(stallTimer);
    release();
    if (ending === 'hangup') return;
    const [code, reason] =
      ending === 'slow'
        ? [CLOSE.TRY_AGAIN_LATER, 'too slow: reconnect with your cursor']
        : [CLOSE.GOING_AWAY, ending === 'shutdown' ? 'server shutting down' : 'reconnect with your cursor'];
    socket.close(code, reason);
    // A peer that does not answer the close frame (or cannot, its buffer full) is cut.
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  });
}
