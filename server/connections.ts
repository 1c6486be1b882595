/**
 * What keeps one client address from taking the server's descriptors and memory over
 * plain HTTP, whatever it asks for:
 *
 * - **Connections per address** (MAX_CONNECTIONS_PER_ADDRESS), counted at the server's
 *   'connection' event, before a byte is parsed. A connection past the cap is refused:
 *   its request gets a 503 with Retry-After and `Connection: close` (so a browser, or a
 *   person with curl, learns why), and it is closed after REFUSED_LINGER_MS whatever it
 *   does. Past REFUSED_LINGER_MAX refused connections of one address at once, new ones
 *   are closed at once, without a word: a flood must not hold descriptors for politeness.
 * - **Pipelining, one answer at a time.** Node's HTTP server parses every request a
 *   client pipelines and hands each to the app at once, keeping the answers in memory
 *   behind the first until the client reads (`_http_server.js`, parserOnIncoming: it
 *   only stops reading once those answers are written, which they never are for a
 *   client that does not read). One connection pipelining 500 polls made the server
 *   build 500 answers. Here a request reaches the app only once the answer before it on
 *   its connection has been handed to the operating system, so a connection never has
 *   more than one answer unsent; at most PIPELINE_MAX_WAITING requests may wait behind
 *   it, and a connection that sends more is closed (an answer to the excess could not
 *   go out before the ones it waits behind, which that client is not reading). Requests
 *   that waited are served PIPELINED_PER_TURN per turn of the event loop, all
 *   connections together, behind everything else: Node accepts one new connection per
 *   turn, so a turn spent answering every pipeline would keep a newcomer (a health
 *   check, say) in the accept queue for that long times the connections ahead of it.
 * - **A write deadline**: an answer (anything but a stream, which has its own
 *   slow-client timeout) not handed whole to the operating system within
 *   SLOW_CLIENT_TIMEOUT_MS has its connection closed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { TooManyAddressConnections } from './errors.ts';
import { closeConnectionAfter, tcpSocketOf } from './protocol.ts';
import type { SocketCloseTeller } from './wire.ts';

/** Requests one connection may have waiting behind the answer it is being sent; one more closes it. */
export const PIPELINE_MAX_WAITING = 16;
/** Pipelined requests (those that waited behind an answer) served per turn of the event loop, all connections together. */
export const PIPELINED_PER_TURN = 1;
/** How long a refused connection may stay open for its 503, ms. */
export const REFUSED_LINGER_MS = 2000;
/** Refused connections of one address that may wait for their 503 at once; past it, closed at once. */
export const REFUSED_LINGER_MAX = 8;
/** How long the descriptor count is reused, ms: counting lists /proc/self/fd. */
const DESCRIPTORS_CACHE_MS = 1000;

/** The connection figures of `GET /api/stats`. */
export interface ConnectionFigures {
  /** TCP connections open now (refused ones not counted). */
  open: number;
  /** Client addresses with a connection open now. */
  addresses: number;
  /** Connections of the address that holds the most. */
  mostFromOneAddress: number;
  /** MAX_CONNECTIONS_PER_ADDRESS; 0 when off. */
  perAddressLimit: number;
  /** Connections refused for their address's cap, since the start. */
  refused: number;
  /** Connections closed since the start: for pipelining past PIPELINE_MAX_WAITING, and for missing the write deadline. */
  cut: { pipelining: number; writeDeadline: number };
}

/** The process's descriptors, from /proc (Linux); null elsewhere. */
export interface DescriptorFigures {
  openDescriptors: number;
  /** The soft limit (`ulimit -n`); null when unlimited. */
  descriptorLimit: number | null;
}

interface AddressCount {
  address: string;
  open: number;
  refused: number;
}

interface SocketQueue {
  /** The answer being sent on this connection, or null between requests. */
  busy: ServerResponse | null;
  waiting: [IncomingMessage, ServerResponse][];
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export class ConnectionGuard implements SocketCloseTeller {
  readonly #max: number;
  readonly #writeDeadlineMs: number;
  readonly #byAddress = new Map<string, AddressCount>();
  readonly #refusedSockets = new WeakSet<Socket>();
  readonly #queues = new WeakMap<Socket, SocketQueue>();
  /** The count each admitted connection is in, for its 'close'. */
  readonly #admitted = new WeakMap<Socket, AddressCount>();
  // One 'close' listener for every admitted connection, not a closure each: `this` is the socket.
  readonly #admittedClosed: (this: Socket) => void;
  // One 'finish' and 'close' listener for every answer: `this` is the response.
  readonly #answerLeft: (this: ServerResponse) => void;
  // One 'close' listener for every queued connection: `this` is the socket.
  readonly #queueClosed: (this: Socket) => void;
  /** Told of every admitted connection's 'close', after the guard (tellOnClose). */
  readonly #closeWatchers: ((socket: Socket) => void)[] = [];
  #handle: RequestHandler = () => {};
  readonly #followUps: (() => void)[] = [];
  #open = 0;
  #refused = 0;
  #cutPipelining = 0;
  #cutWriteDeadline = 0;
  /** Answers sent in this turn of the event loop, their write deadline not yet armed (writeDeadline). */
  #unarmed: ServerResponse[] = [];
  readonly #armDeadlines = (): void => {
    const answers = this.#unarmed;
    this.#unarmed = [];
    for (const res of answers) this.#armDeadline(res);
  };

  constructor(config: Pick<Config, 'maxConnectionsPerAddress' | 'slowClientTimeoutMs'>) {
    this.#max = config.maxConnectionsPerAddress;
    this.#writeDeadlineMs = config.slowClientTimeoutMs;
    const guard = this;
    this.#admittedClosed = function (this: Socket) {
      const entry = guard.#admitted.get(this);
      if (!entry) return;
      guard.#admitted.delete(this);
      entry.open -= 1;
      guard.#open -= 1;
      guard.#forget(entry);
      for (const watcher of guard.#closeWatchers) watcher(this);
    };
    // 'finish': the answer is with the operating system (Node has already given the
    // connection to the next response, its listener being older than this one, so the
    // connection is the request's). Both fire, and the listener acts once per response.
    this.#queueClosed = function (this: Socket) {
      const queue = guard.#queues.get(this);
      if (queue) queue.waiting.length = 0;
    };
    this.#answerLeft = function (this: ServerResponse) {
      const socket = this.req.socket;
      const queue = guard.#queues.get(socket);
      if (queue?.busy !== this) return;
      const following = queue.waiting.shift();
      queue.busy = following?.[1] ?? null;
      if (following) guard.#later(() => socket.destroyed || guard.#serve(queue, following[0], following[1]));
    };
  }

  /**
   * Takes the server's connections and requests in hand: call once, right after the
   * server is made and before it listens. The app's request handler still answers every
   * request; it is called one request per connection at a time.
   */
  install(server: Server): void {
    // Before Node's own listener, so a connection destroyed here never gets a parser.
    server.prependListener('connection', (socket: Socket) => this.#admit(socket));
    // The app's handler is the server's 'request' listener (Fastify passes it to
    // http.createServer): it is moved behind the queue, so it sees one request per
    // connection at a time.
    const handlers = server.listeners('request') as RequestHandler[];
    server.removeAllListeners('request');
    this.#handle = (req, res) => {
      for (const handler of handlers) handler.call(server, req, res);
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
  }

  /** Whether the 'close' of `socket` (an admitted connection, until it closes) is told to tellOnClose's watchers. */
  watchesClose(socket: Socket): boolean {
    return this.#admitted.has(socket);
  }

  /**
   * Calls `onClosed` with every admitted connection when it closes, from the guard's own
   * 'close' listener: one listener per socket for both (see WireMeter.closeThrough).
   */
  tellOnClose(onClosed: (socket: Socket) => void): void {
    this.#closeWatchers.push(onClosed);
  }

  /**
   * For the app's first onRequest hook: a request on a connection refused for its address
   * gets the 503 (which says when to come back), and the connection is closed after it.
   */
  checkAdmitted(request: FastifyRequest, reply: FastifyReply): void {
    // Counted and refused on the TCP connection: under TLS, the request's socket wraps it.
    const socket = tcpSocketOf(request.raw.socket);
    if (!this.#refusedSockets.has(socket)) return;
    closeConnectionAfter(request.raw, reply.raw);
    throw new TooManyAddressConnections(addressOf(socket), this.#max);
  }

  /**
   * Closes the connection of `res` if the answer is not handed whole to the operating
   * system within the write deadline: a client that does not read keeps no answer, and
   * no descriptor, for longer than that.
   *
   * Called as the answer is sent, before its bytes are written. Most answers are then
   * handed whole to the operating system in the same call, and need no timer: the
   * deadline is armed after that turn of the event loop, for those still unwritten (a
   * client that does not read, an answer queued behind another on its connection). A
   * timer, its two listeners and its closures for every answer were ~8 % of a long poll
   * fan-out's time (--cpu-prof of the bench's --peers long-polling row, 2026-12-03).
   */
  writeDeadline(res: ServerResponse): void {
    if (res.writableFinished) return;
    if (this.#unarmed.push(res) === 1) setImmediate(this.#armDeadlines);
  }

  #armDeadline(res: ServerResponse): void {
    if (res.writableFinished || res.destroyed) return;
    const timer = setTimeout(() => {
      if (res.writableFinished || res.destroyed) return;
      this.#cutWriteDeadline += 1;
      res.destroy();
    }, this.#writeDeadlineMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
  }

  figures(): ConnectionFigures {
    let most = 0;
    let addresses = 0;
    for (const count of this.#byAddress.values()) {
      if (count.open > 0) addresses += 1;
      most = Math.max(most, count.open);
    }
    return {
      open: this.#open,
      addresses,
      mostFromOneAddress: most,
      perAddressLimit: this.#max,
      refused: this.#refused,
      cut: { pipelining: this.#cutPipelining, writeDeadline: this.#cutWriteDeadline },
    };
  }

  #admit(socket: Socket): void {
    const address = addressOf(socket);
    let count = this.#byAddress.get(address);
    if (!count) {
      count = { address, open: 0, refused: 0 };
      this.#byAddress.set(address, count);
    }
    const entry = count;
    if (this.#max > 0 && entry.open >= this.#max) {
      this.#refused += 1;
      if (entry.refused >= REFUSED_LINGER_MAX) {
        socket.destroy();
        this.#forget(entry);
        return;
      }
      entry.refused += 1;
      this.#refusedSockets.add(socket);
      const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
      linger.unref();
      socket.on('close', () => {
        clearTimeout(linger);
        entry.refused -= 1;
        this.#forget(entry);
      });
      return;
    }
    entry.open += 1;
    this.#open += 1;
    // `on`, not `once`, for every listener an idle connection keeps: a socket or a
    // response emits 'close' (and 'finish') once, and Node's `once` wraps each listener
    // in a bound function and a state object, about 190 bytes more per listener per
    // connection (docs/guarantees.md, "How the promises hold with thousands of clients").
    this.#admitted.set(socket, entry);
    socket.on('close', this.#admittedClosed);
  }

  /**
   * Drops the count of an address that has nothing open or refused. A method, not a
   * `const forget = () => …` per connection: tsx keeps names (esbuild's keepNames), which
   * gives every named arrow its own `name` property, ~250 bytes per connection.
   */
  #forget(entry: AddressCount): void {
    if (entry.open === 0 && entry.refused === 0) this.#byAddress.delete(entry.address);
  }

  /** Runs `serve` on a later turn of the event loop, PIPELINED_PER_TURN a turn, first come first served. */
  #later(serve: () => void): void {
    this.#followUps.push(serve);
    if (this.#followUps.length === 1) setImmediate(this.#serveFollowUps);
  }

  readonly #serveFollowUps = () => {
    for (let i = 0; i < PIPELINED_PER_TURN; i += 1) this.#followUps.shift()?.();
    if (this.#followUps.length > 0) setImmediate(this.#serveFollowUps);
  };

  #request(req: IncomingMessage, res: ServerResponse): void {
    // HTTP/2 has no pipelining: its streams are concurrent by design, bounded by the
    // session's SETTINGS_MAX_CONCURRENT_STREAMS (http2-settings.ts).
    if (req.httpVersionMajor === 2) {
      this.#handle(req, res);
      return;
    }
    const socket = req.socket;
    // The rest of a pipelined batch that was already cut: Node parses a read to its end.
    if (socket.destroyed) return;
    let queue = this.#queues.get(socket);
    if (!queue) {
      queue = { busy: null, waiting: [] };
      this.#queues.set(socket, queue);
      socket.on('close', this.#queueClosed);
    }
    if (queue.busy === null) {
      this.#serve(queue, req, res);
      return;
    }
    if (queue.waiting.length >= PIPELINE_MAX_WAITING) {
      this.#cutPipelining += 1;
      socket.destroy();
      return;
    }
    queue.waiting.push([req, res]);
  }

  #serve(queue: SocketQueue, req: IncomingMessage, res: ServerResponse): void {
    queue.busy = res;
    // Both fire, 'finish' first when it does: `on` suffices (see #admit).
    res.on('finish', this.#answerLeft);
    res.on('close', this.#answerLeft);
    this.#handle(req, res);
  }
}

let descriptorsCache: { at: number; figures: DescriptorFigures | null } | undefined;

/**
 * The process's open descriptors and their limit, from /proc/self (Linux); null where
 * there is no /proc. Counted at most once a second: the count lists a directory of one
 * entry per descriptor.
 */
export function descriptorFigures(now = performance.now()): DescriptorFigures | null {
  if (descriptorsCache && now - descriptorsCache.at < DESCRIPTORS_CACHE_MS) return descriptorsCache.figures;
  let figures: DescriptorFigures | null;
  try {
    // The listing holds the descriptor it is read through: not one of ours.
    const openDescriptors = readdirSync('/proc/self/fd').length - 1;
    const limit = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    figures = { openDescriptors, descriptorLimit: limit === undefined || limit === 'unlimited' ? null : Number(limit) };
  } catch {
    figures = null;
  }
  descriptorsCache = { at: now, figures };
  return figures;
}

/** Where addressOf has the socket's handle write the peer's address: one object for every connection. */
const peerName: { address?: string } = {};

/**
 * The client address of a socket; an IPv4 client of an IPv6 socket counts as its IPv4
 * address. Asked of the socket's handle, as Node's `remoteAddress` asks it, but written
 * into one object for all connections: `remoteAddress` keeps an object of its own on the
 * socket (`_peername`: address, family, port) for the socket's life, ~100 bytes every
 * idle connection would hold for an address the guard reads once (docs/peers.md).
 * `remoteAddress` where there is no such handle (a socket not connected, a test's).
 */
function addressOf(socket: Socket): string {
  const handle = (socket as { _handle?: { getpeername?: (out: object) => number } | null })._handle;
  peerName.address = undefined;
  const asked = handle?.getpeername && !socket.connecting && handle.getpeername(peerName) === 0;
  const address = (asked ? peerName.address : undefined) ?? socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
