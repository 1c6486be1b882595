/**
 * WebSocket: one HTTP request upgraded into a two-way connection of frames. Messages go
 * down as JSON text frames, or MessagePack binary frames for a client that offers the
 * realtime-lab.v1.msgpack subprotocol; the client can publish up the same connection. The
 * only technique here that is two-way on one connection.
 *
 * Frames, server to client: a message is its JSON (`{"id","ts","author","text"}`); every
 * other frame has a `type`: `epoch` (the first frame), `ack`, `error`, `gap`, `reset`, `end`.
 * Client to server: `{"type":"publish","author","text"}` with an optional `"ref"` string
 * that the ack or error echoes.
 */
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket';
import {
  CLOSE,
  type PublishAnswer,
  SPOKEN_SUBPROTOCOLS,
  SUBPROTOCOLS,
  type Subprotocol,
  chooseSubprotocol,
  msgpackFrames,
  readClientFrame,
  websocketFrames,
} from '../contract/formats/websocket.js';
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { type RawData, WebSocket } from 'ws';
import type { AbuseMeter } from '../abuse.ts';
import { clientOf } from '../plugins/wire-meter.ts';
import { UnsupportedSubprotocol, UpgradeRequired } from '../errors.ts';
import { checkSocketOrigin } from '../origin.ts';
import { joinHeartbeat, leaveHeartbeat } from '../heartbeat.ts';
import { MAX_REF_CHARS, checkPublish } from '../message.ts';
import type { Message } from '../message.ts';
import {
  type ConnectionKey,
  type ControlEvent,
  FeedClient,
  STREAM_HIGH_WATER_BYTES,
  type TransportBehaviour,
  type TransportContext,
  encode,
  epochOf,
  oncePerMessage,
  sinceOf,
} from '../transport.ts';

export { CLOSE };

/** Bad frames in a row after which the client is disconnected rather than answered. */
export const MAX_BAD_FRAMES_IN_A_ROW = 10;
/** The window a client's pings are counted in against `config.wsPingBudget`, ms. */
export const PING_WINDOW_MS = 10_000;
/** After a close frame, how long a peer has to answer before its socket is cut, ms. */
export const CLOSE_GRACE_MS = 1000;

/**
 * permessage-deflate as WS_PERMESSAGE_DEFLATE turns it on. Every frame is compressed
 * (ws's default threshold of 1 KiB would leave every feed frame, a few hundred bytes,
 * as it is), with context takeover both ways (the default): the window remembers the
 * previous frames, so the field names and the author every message repeats cost a few
 * bits, which is where small JSON frames gain. The price is the zlib contexts each
 * connection keeps once it has compressed a frame; docs/bench.md has the numbers.
 */
export const PER_MESSAGE_DEFLATE = Object.freeze({ threshold: 0 });

export const transport: TransportBehaviour = {
  async register(scope, context) {
    const { config } = context;
    const onSocketError = socketErrorHandler(context.abuse, 'WebSocket', 'server error: reconnect with your cursor');
    // Registered here, inside this technique's scope, and nowhere else.
    await scope.register(fastifyWebsocket, {
      options: {
        // A publish frame is at most a publish body: no reason to accept ws's 100 MiB default.
        maxPayload: config.bodyLimitBytes,
        perMessageDeflate: config.wsPerMessageDeflate ? PER_MESSAGE_DEFLATE : false,
        // ws answers every ping itself and, past 60 pongs not yet written, cuts the socket
        // without a close frame: serveSocket answers pings within a budget instead.
        autoPong: false,
        // preValidation has already refused an offer with nothing spoken in it.
        handleProtocols: (offers: Set<string>) => chooseSubprotocol([...offers]) ?? false,
        // ws's own Set of clients, and a 'close' listener on each to leave it: shutdown
        // knows every connection already (context.hold), so nothing would read it.
        clientTracking: false,
        // (Typed as ws's whole module, statics and all: a subclass is what ws asks for.)
        WebSocket: SubscribedSocket as unknown as WebSocketClass,
      },
      errorHandler: onSocketError,
    });
    // What every connection of this technique shares, kept once rather than in each.
    const shared: SocketScope = { context, log: scope.log, onSocketError };
    scope.route({
      method: 'GET',
      url: '/',
      // Runs before the upgrade, so a bad request gets a plain HTTP 4xx, not a socket.
      preValidation: async (request) => {
        checkSocketOrigin(request, config.allowedOrigins);
        checkSubprotocols(request);
        sinceOf(request.query);
        epochOf(request.query);
      },
      handler: async (request) => {
        // The path it was reached at: a technique does not know its own id.
        throw new UpgradeRequired(request.url.split('?')[0]);
      },
      wsHandler: (socket, request) => serveSocket(socket as SubscribedSocket, request, shared),
    });
  },
};

type WebSocketClass = NonNullable<NonNullable<WebsocketPluginOptions['options']>['WebSocket']>;

/** Longest list of offers a refusal repeats back, in characters. */
const MAX_OFFERS_ECHOED = 200;

/**
 * Refuses, before the upgrade, a handshake whose `Sec-WebSocket-Protocol` offers only
 * subprotocols this server does not speak: ws would otherwise upgrade it without the
 * header, and the client would fail with no reason given.
 */
export function checkSubprotocols(request: FastifyRequest): void {
  const offers = offersOf(request.headers['sec-websocket-protocol']);
  if (chooseSubprotocol(offers) !== undefined) return;
  const offered = offers.join(', ');
  throw new UnsupportedSubprotocol(
    offered.length > MAX_OFFERS_ECHOED ? `${offered.slice(0, MAX_OFFERS_ECHOED)}…` : offered,
    SPOKEN_SUBPROTOCOLS.join(' and '),
  );
}

/** The subprotocols a `Sec-WebSocket-Protocol` header offers, in order (Node joins repeated headers with commas). */
function offersOf(header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return joined
    .split(',')
    .map((offer) => offer.trim())
    .filter((offer) => offer !== '');
}

/** The bytes of a frame as ws hands them over (a Buffer unless binaryType was changed). */
function bytesOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** RFC 6455 §5.2 opcodes of the data frames a message goes in. */
const TEXT_OPCODE = 0x1;
const BINARY_OPCODE = 0x2;

/**
 * The whole frame a server sends for `payload` (RFC 6455 §5.2): FIN and the opcode, the
 * payload length in 7, 7+16 or 7+64 bits, no mask (only a client masks), then the payload.
 * One Buffer, so that the frame goes to a socket in one write.
 */
export function serverFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x80 | opcode;
  if (headerBytes === 2) frame[1] = length;
  else if (headerBytes === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.set(payload, headerBytes);
  return frame;
}

/** A message as one subprotocol carries it: the payload, and the whole frame around it. */
interface FramedMessage {
  /** The payload, for ws.send when permessage-deflate compresses it per socket. */
  payload: Buffer;
  /** Header and payload in one Buffer, written to the socket as it is. */
  frame: Buffer;
  payloadBytes: number;
}

/**
 * A message as one subprotocol frames it, once per message (oncePerMessage), not once per
 * client: the same Buffer goes to every socket.
 */
function frameCache(opcode: number, encodePayload: (message: Message) => Uint8Array) {
  return oncePerMessage((message): FramedMessage => {
    const encoded = encodePayload(message);
    const frame = serverFrame(opcode, encoded);
    // The payload is the frame's tail: one copy of the bytes, not two.
    return { frame, payload: frame.subarray(frame.byteLength - encoded.byteLength), payloadBytes: encoded.byteLength };
  });
}

const jsonFrameOf = frameCache(TEXT_OPCODE, (message) => Buffer.from(websocketFrames.message(encode(message).json)));
const msgpackFrameOf = frameCache(BINARY_OPCODE, (message) => msgpackFrames.message(message));
/** Options of every message frame sent, built once: JSON goes in text frames, MessagePack in binary ones. */
const TEXT_FRAME = Object.freeze({ binary: false });
const BINARY_FRAME = Object.freeze({ binary: true });

/**
 * An 'error' on an open socket. From ws it is a client breaking the protocol (a bad
 * opcode, an unmasked frame, invalid UTF-8, a frame over the limit...), which ws has
 * already answered with a close frame: the client's fault, counted, and not worth an
 * error line with a stack trace (@fastify/websocket's default) for every bad frame.
 * Either way the socket is cut only after the close frame had its chance to leave, not at
 * once, which would drop it behind anything still buffered.
 */
export function socketErrorHandler(
  abuse: AbuseMeter,
  who: string,
  closeReason: string,
): (error: Error, socket: WebSocket, request: Pick<FastifyRequest, 'log'>) => void {
  return (error, socket, request) => {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
      abuse.report(
        'websocketProtocolErrors',
        request.log,
        { code, reason: error.message },
        `${who} client broke the protocol`,
      );
    } else {
      request.log.error(error, `${who} connection failed`);
      socket.close(CLOSE.INTERNAL_ERROR, closeReason);
    }
    cutAfterGrace(socket);
  };
}

type SocketErrorHandler = ReturnType<typeof socketErrorHandler>;

/**
 * Lets go of what only the HTTP exchange needed, so that an idle WebSocket keeps neither
 * Fastify's Request and Reply nor Node's IncomingMessage and ServerResponse (its headers,
 * its URL, ~3 KB a connection) for its whole life. The response an upgrade is given is
 * never written; it only closes with its socket, which holds it. So whatever still waits
 * for that 'close' (presence, the classroom) is moved to the WebSocket's 'close' (its
 * socket's, once ws has read what was left: not on the socket itself, whose 'close'
 * listeners are kept to two, see WireMeter.closeThrough), and the response is detached
 * from the socket; a moved listener then runs with the WebSocket as `this`. Call it after
 * `context.upgraded`, which takes the wire meter's and shutdown's listeners off first
 * (the socket's own 'close' ends the request in the meter).
 */
function letGoOfHandshake(raw: IncomingMessage, ws: WebSocket): void {
  const socket = raw.socket;
  const res = (socket as { _httpMessage?: unknown } | null)?._httpMessage;
  if (!(res instanceof ServerResponse)) return;
  // Moved, not copied: a listener left on the response too could be called twice.
  for (const listener of res.listeners('close')) ws.on('close', listener as () => void);
  res.removeAllListeners('close');
  res.detachSocket(socket);
  // The response's own 'close' listener on the socket (ServerResponse.assignSocket) was a
  // third one while ws added its own, so V8 grew the socket's listener array to 19 slots,
  // which it keeps once the response's goes: listed again, the array is as long as its
  // listeners, ~140 bytes less for every idle connection.
  // (Taken off and put back in front of the last, in order: removing them all would
  // delete the event's key, which turns the socket's table of events into a slow one.)
  const earlier = (socket.rawListeners('close') as (() => void)[]).slice(0, -1);
  for (const listener of earlier) socket.removeListener('close', listener);
  for (const listener of earlier.reverse()) socket.prependListener('close', listener);
}

/**
 * A client's ping budget: `budget` pings in each window of PING_WINDOW_MS. The function
 * counts one ping and says whether it is still within the budget.
 */
export function pingBudget(budget: number): () => boolean {
  let windowStart = Number.NEGATIVE_INFINITY;
  let inWindow = 0;
  return () => {
    const now = performance.now();
    if (now - windowStart >= PING_WINDOW_MS) {
      windowStart = now;
      inWindow = 0;
    }
    inWindow += 1;
    return inWindow <= budget;
  };
}

/**
 * Cuts `socket` CLOSE_GRACE_MS after a close frame, unless the peer answered it by then:
 * a peer that never answers (or cannot, its buffer full) would otherwise keep the socket
 * for ws's 30 s, and cutting at once would drop the close frame behind what is buffered.
 */
export function cutAfterGrace(socket: WebSocket): void {
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

/**
 * ws's WebSocket, whose events go straight to the subscriber it serves: ws emits
 * 'message', 'ping', 'pong', 'close' and 'error' on the socket, and a listener for each
 * would cost every idle connection its own table of five (~100 bytes), and a WeakMap entry
 * to find its subscriber. A listener added all the same (a handshake's 'close', moved by
 * letGoOfHandshake; a test's) still hears its event, after the subscriber.
 */
class SubscribedSocket extends WebSocket {
  subscriber: SocketSubscriber | undefined = undefined;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const { subscriber } = this;
    if (subscriber === undefined) return super.emit(event, ...args);
    switch (event) {
      case 'message':
        subscriber.frame(args[0] as RawData, args[1] as boolean);
        break;
      case 'ping':
        subscriber.ping(args[0] as Buffer);
        break;
      case 'pong':
        subscriber.alive = true;
        break;
      case 'error':
        subscriber.failed(args[0] as Error);
        break;
      case 'close':
        subscriber.hungUp();
        break;
      default:
        return super.emit(event, ...args);
    }
    // Handled: an 'error' with no listener of its own must not throw as EventEmitter's would.
    return this.listenerCount(event) === 0 || super.emit(event, ...args);
  }
}

/**
 * What a WebSocket connection needs only once it pings, publishes, stalls or logs, in an
 * object made then: five fields fewer on every connection that only listens (40 bytes).
 */
interface Seldom {
  /** A wait for the drain (drained()) and its slow-client timer; none most of the time. */
  stall: { done: Promise<void>; resolve: () => void; timer: NodeJS.Timeout } | undefined;
  /** Made at the first ping: most clients never ping (browsers cannot). */
  pingWithinBudget: (() => boolean) | undefined;
  /**
   * Answers go out in the order the frames came in (a publish awaits the feed, an error
   * does not), so a run of bad frames is counted as a run. None until the first frame.
   */
  answered: Promise<void> | undefined;
  /** The handshake's request's logger, made at its first line. */
  log: FastifyBaseLogger | undefined;
  badFramesInARow: number;
}

/** What every WebSocket connection of the technique shares: its context, the server's logger, its error handler. */
interface SocketScope {
  context: TransportContext;
  log: FastifyBaseLogger;
  onSocketError: SocketErrorHandler;
}

function serveSocket(socket: SubscribedSocket, request: FastifyRequest, shared: SocketScope): void {
  // What the connection needs of its handshake, and not the request itself: see letGoOfHandshake.
  const { raw } = request;
  const client = shared.context.clientId(clientOf(request.query));
  const subscriber = new SocketSubscriber(socket, raw.socket, shared, request.id, client);
  shared.context.upgraded(raw);
  letGoOfHandshake(raw, socket);
  subscriber.start(sinceOf(request.query), epochOf(request.query));
}

/**
 * One WebSocket client, from its handshake to its close: what it is sent (the feed, the
 * answers to its frames, pongs), what it may do (publish, ping within a budget), and its
 * end. A class, so that ten thousand idle connections share its methods and each keeps
 * its fields alone (about 1.5 KB less a connection than a closure per function). It is
 * also the key the meters, the publish limit and shutdown know the connection by.
 */
class SocketSubscriber extends FeedClient implements ConnectionKey {
  alive = true;
  // Frames handed to ws that it has not written yet, counted rather than a promise per
  // frame: the drain is when none is left.
  #framesUnwritten = 0;
  // Made the first time one is needed: see Seldom.
  #seldom: Seldom | undefined;
  readonly #subprotocol: Subprotocol;
  // ws's write callback, one per connection: the frame has left.
  readonly #frameWritten: () => void;

  constructor(
    readonly ws: SubscribedSocket,
    /** The TCP (or TLS) socket under it: what ConnectionKey names. */
    readonly socket: Socket,
    /** What every connection of the technique shares. */
    readonly shared: SocketScope,
    /** The handshake's request id: its child logger is made again when needed. */
    readonly requestId: string,
    readonly client: string | undefined,
  ) {
    super(shared.context);
    // ws sets no protocol when none was offered: JSON, as before subprotocols existed.
    this.#subprotocol = (ws.protocol || SUBPROTOCOLS.json) as Subprotocol;
    // A bound method (~50 bytes), not an arrow function: its closure and context are twice
    // that, and tsx's keepNames would give an arrow field a `name` of its own (~250 bytes).
    this.#frameWritten = this.#countWritten.bind(this);
    // From here on the socket's events are this subscriber's (SubscribedSocket), the
    // errors included: @fastify/websocket's listener (which keeps the request) goes.
    ws.subscriber = this;
    ws.removeAllListeners('error');
    // Ping every heartbeat; a peer that has not answered the previous ping is gone.
    joinHeartbeat(shared.context.config.heartbeatMs, this);
  }

  #countWritten(): void {
    this.#framesUnwritten -= 1;
    const seldom = this.#seldom;
    if (this.#framesUnwritten !== 0 || !seldom?.stall) return;
    const { resolve, timer } = seldom.stall;
    seldom.stall = undefined;
    clearTimeout(timer);
    resolve();
  }

  /** What few connections need, made at the first need. */
  #rarely(): Seldom {
    this.#seldom ??= {
      stall: undefined,
      pingWithinBudget: undefined,
      answered: undefined,
      log: undefined,
      badFramesInARow: 0,
    };
    return this.#seldom;
  }

  /** Follows the feed from the handshake's cursor until the connection ends, then closes it with the reason. */
  start(since: number | undefined, epoch: string | undefined): void {
    this.follow(this, since, epoch);
  }

  /** The handshake's request's logger (its lines carry its `reqId`), made at its first line: most connections never log one. */
  get log(): FastifyBaseLogger {
    const seldom = this.#rarely();
    seldom.log ??= this.shared.log.child({ reqId: this.requestId });
    return seldom.log;
  }

  beat(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  // The payload counted is the message as this connection carries it: its JSON, or its
  // MessagePack bytes.
  message(message: Message): boolean {
    const msgpack = this.#msgpack();
    const framed = (msgpack ? msgpackFrameOf : jsonFrameOf)(message);
    this.context.delivered(this, 1, framed.payloadBytes);
    const { ws } = this;
    // permessage-deflate compresses each socket's frames in its own window, so ws frames
    // them. (ws's `extensions` builds a string each time it is read: only when deflate is on.)
    if (this.context.config.wsPerMessageDeflate && ws.extensions !== '')
      return this.#send(framed.payload, msgpack ? BINARY_FRAME : TEXT_FRAME);
    // Otherwise the frame is the same bytes for every socket, framed once, and written
    // here in one write: ws.send would build a header and an options object and write two
    // chunks (a writev) for each socket, about a quarter of the fan-out's CPU (docs/peers.md).
    // It is safe beside ws's own writes (pongs, pings, the close frame): without an
    // extension ws's Sender queues nothing, so every frame reaches the socket in the order
    // it was sent. After a close, ws would drop the frame too.
    if (ws.readyState === ws.OPEN) {
      this.#framesUnwritten += 1;
      this.socket.write(framed.frame, this.#frameWritten);
    }
    return this.#hasRoom();
  }

  control(event: ControlEvent): boolean {
    return this.#send(this.#frames().control(event));
  }

  // Resolves once what was written so far has left. One timer for messages and pongs
  // alike: a client that leaves its buffer full for slowClientTimeoutMs is too slow.
  drained(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.#framesUnwritten === 0) return Promise.resolve();
    const seldom = this.#rarely();
    if (!seldom.stall) {
      let resolve = () => {};
      const done = new Promise<void>((resolved) => (resolve = resolved));
      const timer = setTimeout(() => this.stop('slow'), this.context.config.slowClientTimeoutMs);
      seldom.stall = { done, resolve, timer };
    }
    return seldom.stall.done;
  }

  /** Every ping within the budget gets its pong, as RFC 6455 asks; a flood gets 1008. */
  ping(data: Buffer): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
    const seldom = this.#rarely();
    seldom.pingWithinBudget ??= pingBudget(this.context.config.wsPingBudget);
    if (!seldom.pingWithinBudget()) {
      this.#closeForAbuse('too many pings');
      return;
    }
    // A pong may answer only the latest of several pings (RFC 6455 §5.5.3): none is
    // buffered for a client that is not reading, which is then dropped as too slow.
    if (!this.#hasRoom()) void this.drained();
    else {
      this.#framesUnwritten += 1;
      ws.pong(data, false, this.#frameWritten);
    }
  }

  /** A frame from the client: answered in turn, after the answers to the frames before it. */
  frame(data: RawData, isBinary: boolean): void {
    const answer = this.#handleFrame(data, isBinary);
    const seldom = this.#rarely();
    seldom.answered = (seldom.answered ?? Promise.resolve())
      .then(() => answer)
      .then((reply) => {
        if (this.ws.readyState !== this.ws.OPEN) return;
        this.#send(this.#frames().answer(reply));
        // A refusal by the feed (it carries the feed's `code`) answers a good frame: while
        // Redis is away it comes at once, and must not close a client that did nothing wrong.
        seldom.badFramesInARow = reply.type === 'error' && reply.code === undefined ? seldom.badFramesInARow + 1 : 0;
        if (seldom.badFramesInARow >= MAX_BAD_FRAMES_IN_A_ROW) this.#closeForAbuse('too many bad frames');
      });
  }

  override hungUp(): void {
    leaveHeartbeat(this.context.config.heartbeatMs, this);
    super.hungUp();
  }

  failed(error: Error): void {
    this.shared.onSocketError(error, this.ws, this);
  }

  #frames(): typeof websocketFrames | typeof msgpackFrames {
    return this.#msgpack() ? msgpackFrames : websocketFrames;
  }

  #msgpack(): boolean {
    return this.#subprotocol === SUBPROTOCOLS.msgpack;
  }

  #send(frame: string | Uint8Array, options?: { binary: boolean }): boolean {
    this.#framesUnwritten += 1;
    if (options) this.ws.send(frame, options, this.#frameWritten);
    else this.ws.send(frame, this.#frameWritten);
    return this.#hasRoom();
  }

  /** Whether the socket can take more before the client must drain what waits unsent. */
  #hasRoom(): boolean {
    return this.ws.bufferedAmount < STREAM_HIGH_WATER_BYTES;
  }

  #closeForAbuse(reason: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.context.abuse.report('websocketPolicyCloses', this.log, { reason }, `WebSocket closed with 1008: ${reason}`);
    this.ws.close(CLOSE.POLICY_VIOLATION, reason);
    cutAfterGrace(this.ws);
    this.stop('hangup');
  }

  async #handleFrame(data: RawData, isBinary: boolean): Promise<PublishAnswer> {
    const read = readClientFrame(this.#subprotocol, bytesOf(data), isBinary);
    if (!read.ok) return { type: 'error', message: read.message };
    const frame = read.value;
    const record =
      typeof frame === 'object' && frame !== null && !Array.isArray(frame) ? (frame as Record<string, unknown>) : {};
    const ref = typeof record.ref === 'string' && [...record.ref].length <= MAX_REF_CHARS ? record.ref : undefined;
    const withRef = (reply: PublishAnswer): PublishAnswer => (ref === undefined ? reply : { ...reply, ref });
    if (record.type !== 'publish') {
      return withRef({
        type: 'error',
        message: 'unknown frame type: the only frame a client sends is {"type":"publish",...}',
      });
    }
    if (record.ref !== undefined && ref === undefined) {
      return { type: 'error', message: `"ref" must be a string of at most ${MAX_REF_CHARS} characters` };
    }
    const { config, feed } = this.context;
    const checked = checkPublish(frame, config, ['type', 'ref']);
    if (!checked.ok) return withRef({ type: 'error', message: checked.message });
    try {
      // A flood is answered with error frames, and counts towards the 1008 below.
      this.context.limitPublish(this, this.client);
    } catch (error) {
      return withRef({ type: 'error', message: (error as Error).message });
    }
    try {
      const message: Message = await feed.publish(checked.value);
      return withRef({ type: 'ack', id: message.id });
    } catch (error) {
      // The feed's backplane is away: its 503 says so, and its code whether the message may
      // have been stored (RTL_PUBLISH_UNCONFIRMED) or not (RTL_FEED_UNAVAILABLE), as over
      // HTTP. Anything else is a bug, logged.
      const { statusCode, code } = error as { statusCode?: number; code?: string };
      if (statusCode === 503) return withRef({ type: 'error', code, message: (error as Error).message });
      this.log.error(error, 'publish over WebSocket failed');
      return withRef({ type: 'error', message: 'the feed could not store the message; try again' });
    }
  }

  /** The follow is over: the close frame its reason calls for, unless the client hung up. */
  ended(): void {
    clearTimeout(this.#seldom?.stall?.timer);
    this.context.release(this);
    const ending = this.stopReason ?? 'hangup';
    if (ending === 'hangup') return;
    const [code, reason] =
      ending === 'slow'
        ? [CLOSE.TRY_AGAIN_LATER, 'too slow: reconnect with your cursor']
        : [CLOSE.GOING_AWAY, ending === 'shutdown' ? 'server shutting down' : 'reconnect with your cursor'];
    this.ws.close(code, reason);
    if (ending === 'shutdown') {
      // The server is going: its side of the TCP connection ends right behind the close
      // frame (RFC 6455 §7.1.1 has the server close first), without waiting for the
      // peer's answering close frame, which thousands of peers take their time to send.
      this.socket.end(() => this.lastWordsSaid());
    }
    cutAfterGrace(this.ws);
  }
}
