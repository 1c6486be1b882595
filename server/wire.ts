/**
 * Wire accounting: HTTP requests, open connections and bytes per technique, counted on
 * the TCP sockets themselves (`socket.bytesRead` / `socket.bytesWritten`), not estimated
 * from the strings the server meant to send. What the pages and the bench show as "cost"
 * comes from here.
 *
 * A keep-alive socket can carry requests of several techniques one after another (a
 * browser reuses connections freely), so bytes are attributed per request: each socket
 * keeps a mark of what has been attributed so far, and the difference since the mark goes
 * to the request the socket is serving now. Long-lived requests (streams, WebSockets) are
 * attributed again whenever a snapshot is taken, so their figures move while they last.
 *
 * A request may name its client (`?client=ID`, as the demo page does): its bytes are then
 * also counted for that client alone, so a page can show what *its* connections cost.
 *
 * The split between headers and body is exact for responses (Node keeps the header block
 * it wrote) and for WebSocket handshakes; for requests, the body is the declared
 * Content-Length and the rest is headers (a chunked request body would count its chunk
 * lines as headers; no client of this server sends one).
 *
 * HTTP/2 streams share one session's socket: wire-http2.ts attributes its bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ByteSplit, WireCounters } from './contract/stats.js';
import { Http2WireMeter, type SharedHttp2Bytes, isHttp2 } from './wire-http2.ts';
import type { ConnectionKey } from './transport.ts';

export type { ByteSplit, SharedHttp2Bytes, WireCounters };

/** The bucket for requests that belong to no technique (publish, stats, pages). */
export const OTHER = 'other';

/** Clients whose figures are kept; past this, the least recently seen is forgotten. */
export const MAX_CLIENTS = 1000;

/**
 * A connection's accounting, and that of the request it is serving: one object, not one
 * for the socket and one per request, which every idle WebSocket would keep both of
 * (~40 bytes more).
 */
interface SocketRecord {
  socket: Socket;
  readMark: number;
  writeMark: number;
  /** Counters of the latest request: the ones this connection counts as open for. */
  owner: readonly WireCounters[] | null;
  /**
   * Where the figures of the request being served go (its technique's counters, and its
   * client's if named: #bucketsFor); null between requests. The fields below are that
   * request's.
   */
  current: readonly WireCounters[] | null;
  res: ServerResponse | null;
  declaredBodyBytes: number;
  requestHeadersCounted: boolean;
  responseHeadersCounted: boolean;
  /** For WebSocket handshakes: bytes of the 101 response, known once the upgrade is done. */
  handshakeBytes: number | null;
}

/** One client's figures, per technique. */
interface ClientFigures {
  /** Its id as first seen: the string every connection of the client keeps (keptClientId). */
  id: string;
  byTechnique: Map<string, WireCounters>;
}

/** Something that listens for the 'close' of sockets anyway, and can pass it on (the connection guard). */
export interface SocketCloseTeller {
  /** Whether `socket`'s 'close' will be told. */
  watchesClose(socket: Socket): boolean;
  /** Calls `onClosed` with every watched socket when it closes. */
  tellOnClose(onClosed: (socket: Socket) => void): void;
}

export class WireMeter {
  readonly #counters = new Map<string, WireCounters>();
  /** Per client id, per technique; a Map keeps insertion order, oldest first. */
  readonly #clients = new Map<string, ClientFigures>();
  readonly #techniques: readonly string[];
  readonly #sockets = new WeakMap<Socket, SocketRecord>();
  /** #bucketsFor's arrays, by the counters that are a request's own (its client's, else its technique's). */
  readonly #bucketsOf = new WeakMap<WireCounters, readonly WireCounters[]>();
  /** Sockets serving a request right now: flushed on every snapshot. */
  readonly #busy = new Set<SocketRecord>();
  readonly #http2: Http2WireMeter;
  /** Who already listens for the 'close' of some sockets and tells this meter (closeThrough). */
  #closeTeller: SocketCloseTeller | undefined;
  // The 'close' listeners of every socket and every response, one function each for all
  // of them rather than a closure per connection: Node calls them with the emitter as `this`.
  readonly #socketClosed: (this: Socket) => void;
  readonly #responseClosed: (this: ServerResponse) => void;

  constructor(techniques: readonly string[]) {
    this.#techniques = techniques;
    for (const id of [...techniques, OTHER]) this.#counters.set(id, emptyCounters());
    this.#http2 = new Http2WireMeter(this.#get(OTHER));
    const meter = this;
    this.#socketClosed = function (this: Socket) {
      meter.socketClosed(this);
    };
    // The request's socket: the response's own is gone once it has finished. `this` is
    // the response; `req` is checked all the same, so that a listener moved elsewhere
    // (an upgrade's, see websocket.ts letGoOfHandshake) could never throw in a 'close'.
    this.#responseClosed = function (this: Partial<Pick<ServerResponse, 'req'>>) {
      const socket = this.req?.socket;
      const record = socket ? meter.#sockets.get(socket) : undefined;
      if (record) meter.#end(record);
    };
  }

  /**
   * Lets `teller` (the connection guard) tell this meter of the 'close' of the sockets it
   * already listens to, instead of a listener of the meter's own on each: a socket with a
   * third 'close' listener has V8 grow the listener array from 2 slots to 19, ~140 bytes
   * an idle connection keeps (docs/peers.md). Sockets it does not watch (a refused
   * connection's; a TLS socket, which wraps the TCP one it counts) get the meter's own.
   * The guard's listener is the socket's first (added at 'connection'), so the meter hears
   * a close before Node's own listener and the response's 'close': a response 'close'
   * listener that counted deliveries would find the request already ended. None does
   * (#responseClosed only ends a request the socket's close has not).
   */
  closeThrough(teller: SocketCloseTeller): void {
    this.#closeTeller = teller;
    teller.tellOnClose((socket) => this.socketClosed(socket));
  }

  /** A socket closed: what it carried since its marks is counted, and its request ends. */
  socketClosed(socket: Socket): void {
    const record = this.#sockets.get(socket);
    if (!record) return;
    this.#flush(record);
    if (record.current) this.#finish(record);
    this.#setOwner(record, null);
    this.#busy.delete(record);
  }

  /** HTTP/2 session bytes that streams of several techniques shared (wire-http2.ts), up to date. */
  sharedHttp2(): SharedHttp2Bytes {
    this.#http2.flushAll();
    return this.#http2.shared();
  }

  /**
   * Requests of `client` in progress right now, of every technique (the classroom's
   * presence); 0 for a client no longer among the MAX_CLIENTS kept.
   */
  activeRequestsOf(client: string): number {
    let active = 0;
    for (const counters of this.#clients.get(client)?.byTechnique.values() ?? []) active += counters.activeRequests;
    return active;
  }

  /**
   * `client` as this meter keeps it: the same string for every connection of the client,
   * for a connection to keep instead of its own. Its own is a slice of its request's URL
   * (the query parser's), which keeps the whole URL alive: ~110 bytes an idle WebSocket
   * would hold. `client` itself for a client this meter does not keep.
   */
  keptClientId(client: string): string {
    return this.#clients.get(client)?.id ?? client;
  }

  /** Requests of `technique` in progress right now (held long polls, streams, WebSockets). */
  activeRequests(technique: string): number {
    return this.#counters.get(technique)?.activeRequests ?? 0;
  }

  /**
   * Starts accounting for a request; `technique` is undefined for non-technique routes,
   * `client` is the id the request named, if any.
   */
  begin(req: IncomingMessage, res: ServerResponse, technique: string | undefined, client?: string): void {
    const http2 = isHttp2(req);
    const record = http2 ? null : this.#socketRecord(req.socket);
    if (!http2 && !record) return;
    // Not flushed first: what was read since the socket's mark is this request's headers.
    const id = technique && this.#counters.has(technique) ? technique : OTHER;
    const buckets = this.#bucketsFor(id, client);
    const declared = Number(req.headers['content-length']);
    const declaredBodyBytes = Number.isFinite(declared) && declared > 0 ? declared : 0;
    for (const counters of buckets) {
      counters.httpRequests += 1;
      counters.activeRequests += 1;
    }
    if (http2) {
      this.#http2.begin(req, res, buckets, declaredBodyBytes);
      return;
    }
    if (!record) return;
    record.current = buckets;
    record.res = res;
    record.declaredBodyBytes = declaredBodyBytes;
    record.requestHeadersCounted = false;
    record.responseHeadersCounted = false;
    record.handshakeBytes = null;
    this.#setOwner(record, buckets);
    this.#busy.add(record);
    // `on`: a response emits 'close' once, and `once` costs a wrapper per connection (connections.ts, #admit).
    res.on('close', this.#responseClosed);
  }

  /**
   * Marks a WebSocket handshake as done: everything written on the socket since the
   * request began is the 101 response's header block. Call it before sending a frame.
   */
  upgraded(req: IncomingMessage): void {
    const record = this.#sockets.get(req.socket);
    if (!record?.current) return;
    // The response object of an upgrade is never written, and the socket's 'close' ends the request.
    record.res?.removeListener('close', this.#responseClosed);
    record.res = null;
    record.handshakeBytes = counter(record.socket.bytesWritten) - record.writeMark;
    this.#flush(record);
  }

  /**
   * Counts messages handed to the client of `req` and their payload bytes, in the
   * counters of the request the socket is serving (its technique's, and its client's).
   */
  delivered(req: ConnectionKey, messages: number, payloadBytes: number): void {
    const buckets = this.#http2.bucketsOf(req) ?? this.#sockets.get(req.socket)?.current ?? [];
    for (const counters of buckets) {
      counters.messagesDelivered += messages;
      counters.payloadBytes += payloadBytes;
    }
  }

  /**
   * Current counters per technique, of every client or of the one named; long-lived
   * requests are brought up to date first.
   */
  snapshot(client?: string): Record<string, WireCounters> {
    for (const record of this.#busy) this.#flush(record);
    this.#http2.flushAll();
    const out: Record<string, WireCounters> = {};
    if (client === undefined) {
      for (const [id, counters] of this.#counters) out[id] = structuredClone(counters);
    } else {
      const known = this.#clients.get(client)?.byTechnique;
      for (const id of this.#techniques) out[id] = structuredClone(known?.get(id) ?? emptyCounters());
    }
    return out;
  }

  /**
   * The counters of each client named, per technique it used, long-lived requests
   * brought up to date once for all of them (the classroom's sample; `snapshot(client)`
   * per client would bring them up to date once per client).
   */
  snapshotClients(clients: Iterable<string>): Map<string, Record<string, WireCounters>> {
    for (const record of this.#busy) this.#flush(record);
    const out = new Map<string, Record<string, WireCounters>>();
    for (const client of clients) {
      const known = this.#clients.get(client)?.byTechnique;
      out.set(client, Object.fromEntries([...(known ?? [])].map(([id, counters]) => [id, structuredClone(counters)])));
    }
    return out;
  }

  /**
   * The counters a request of technique `id` naming `client` counts in: its technique's,
   * and its client's when it names one. One array per technique and per client of it,
   * shared by all their requests: an array per request would cost every open connection
   * ~60 bytes more (one grown by push, ~200).
   */
  #bucketsFor(id: string, client: string | undefined): readonly WireCounters[] {
    const technique = this.#get(id);
    const own = client !== undefined && id !== OTHER ? this.#clientCounters(client, id) : technique;
    let buckets = this.#bucketsOf.get(own);
    if (!buckets) {
      buckets = own === technique ? [technique] : [technique, own];
      this.#bucketsOf.set(own, buckets);
    }
    return buckets;
  }

  #clientCounters(client: string, technique: string): WireCounters {
    let figures = this.#clients.get(client);
    if (figures) {
      // Seen again: move it to the young end, so the oldest is the least recently seen.
      this.#clients.delete(client);
    } else {
      figures = { id: client, byTechnique: new Map() };
      if (this.#clients.size >= MAX_CLIENTS) {
        const oldest = this.#clients.keys().next().value;
        if (oldest !== undefined) this.#clients.delete(oldest);
      }
    }
    this.#clients.set(figures.id, figures);
    let counters = figures.byTechnique.get(technique);
    if (!counters) {
      counters = emptyCounters();
      figures.byTechnique.set(technique, counters);
    }
    return counters;
  }

  #socketRecord(socket: Socket | null | undefined): SocketRecord | null {
    if (!socket) return null;
    let record = this.#sockets.get(socket);
    if (!record) {
      const created: SocketRecord = {
        socket,
        readMark: 0,
        writeMark: 0,
        owner: null,
        current: null,
        res: null,
        declaredBodyBytes: 0,
        requestHeadersCounted: false,
        responseHeadersCounted: false,
        handshakeBytes: null,
      };
      record = created;
      this.#sockets.set(socket, created);
      if (!this.#closeTeller?.watchesClose(socket)) socket.on('close', this.#socketClosed);
    }
    return record;
  }

  #end(record: SocketRecord): void {
    this.#flush(record);
    this.#finish(record);
  }

  #finish(record: SocketRecord): void {
    const current = record.current;
    if (!current) return;
    // An upgraded socket keeps its request until the socket closes.
    if (record.handshakeBytes !== null && !record.socket.destroyed) return;
    for (const counters of current) counters.activeRequests -= 1;
    record.current = null;
    record.res = null;
    this.#busy.delete(record);
  }

  /** Attributes the bytes since the socket's marks to the request it is serving. */
  #flush(record: SocketRecord): void {
    const read = counter(record.socket.bytesRead);
    const written = counter(record.socket.bytesWritten);
    const readDelta = read - record.readMark;
    const writeDelta = written - record.writeMark;
    if (readDelta === 0 && writeDelta === 0) return;
    record.readMark = read;
    record.writeMark = written;

    const current = record.current;
    if (!current) {
      for (const counters of record.owner ?? [this.#get(OTHER)]) add(counters, 0, readDelta, 0, writeDelta);
      return;
    }
    let headersIn = 0;
    if (!record.requestHeadersCounted) {
      headersIn = readDelta - Math.min(record.declaredBodyBytes, readDelta);
      record.requestHeadersCounted = readDelta > 0;
    }
    let headersOut = 0;
    if (!record.responseHeadersCounted) {
      if (record.handshakeBytes !== null) {
        headersOut = record.handshakeBytes;
        record.responseHeadersCounted = true;
      } else if (record.res?.headersSent) {
        // Node keeps the exact header block it wrote; its length is the header bytes.
        const header = (record.res as ServerResponse & { _header?: string | null })._header;
        headersOut = header ? Buffer.byteLength(header, 'latin1') : 0;
        record.responseHeadersCounted = true;
      }
    }
    headersOut = Math.min(headersOut, writeDelta);
    for (const counters of current)
      add(counters, headersIn, readDelta - headersIn, headersOut, writeDelta - headersOut);
  }

  #setOwner(record: SocketRecord, owner: readonly WireCounters[] | null): void {
    if (record.owner === owner) return;
    for (const counters of record.owner ?? []) counters.openConnections -= 1;
    for (const counters of owner ?? []) counters.openConnections += 1;
    record.owner = owner;
  }

  #get(technique: string): WireCounters {
    const counters = this.#counters.get(technique) ?? this.#counters.get(OTHER);
    if (!counters) throw new Error('the "other" bucket always exists');
    return counters;
  }
}

function add(counters: WireCounters, headersIn: number, bodyIn: number, headersOut: number, bodyOut: number): void {
  counters.bytesIn.headers += headersIn;
  counters.bytesIn.body += bodyIn;
  counters.bytesOut.headers += headersOut;
  counters.bytesOut.body += bodyOut;
}

function emptyCounters(): WireCounters {
  return {
    openConnections: 0,
    activeRequests: 0,
    httpRequests: 0,
    messagesDelivered: 0,
    payloadBytes: 0,
    bytesIn: { headers: 0, body: 0 },
    bytesOut: { headers: 0, body: 0 },
  };
}

/** Socket counters are undefined on the fake sockets of `app.inject()`. */
function counter(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
