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
 * The split between headers and body is exact for responses (Node keeps the header block
 * it wrote) and for WebSocket handshakes; for requests, the body is the declared
 * Content-Length and the rest is headers (a chunked request body would count its chunk
 * lines as headers; no client of this server sends one).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ByteSplit {
  headers: number;
  body: number;
}

/** One technique's counters, as `GET /api/stats` shows them. */
export interface WireCounters {
  /** TCP connections still open whose latest request was for this technique. */
  openConnections: number;
  /** Requests in progress: held long polls, open streams and WebSockets. */
  activeRequests: number;
  /** Every HTTP request, WebSocket upgrades included. */
  httpRequests: number;
  /** Messages handed to clients (a message sent to 3 clients counts 3). */
  messagesDelivered: number;
  /** Bytes of message JSON among `bytesOut.body`: the payload; the rest is overhead. */
  payloadBytes: number;
  /** Bytes received from clients. */
  bytesIn: ByteSplit;
  /** Bytes sent to clients. */
  bytesOut: ByteSplit;
}

/** The bucket for requests that belong to no technique (publish, stats, pages). */
export const OTHER = 'other';

interface RequestRecord {
  technique: string;
  res: ServerResponse | null;
  declaredBodyBytes: number;
  requestHeadersCounted: boolean;
  responseHeadersCounted: boolean;
  /** For WebSocket handshakes: bytes of the 101 response, known once the upgrade is done. */
  handshakeBytes: number | null;
}

interface SocketRecord {
  socket: Socket;
  readMark: number;
  writeMark: number;
  /** Technique of the latest request: the one this connection counts as open for. */
  owner: string | null;
  current: RequestRecord | null;
}

export class WireMeter {
  readonly #counters = new Map<string, WireCounters>();
  readonly #sockets = new WeakMap<Socket, SocketRecord>();
  /** Sockets serving a request right now: flushed on every snapshot. */
  readonly #busy = new Set<SocketRecord>();

  constructor(techniques: readonly string[]) {
    for (const id of [...techniques, OTHER]) this.#counters.set(id, emptyCounters());
  }

  /** Starts accounting for a request; `technique` is undefined for non-technique routes. */
  begin(req: IncomingMessage, res: ServerResponse, technique: string | undefined): void {
    const record = this.#socketRecord(req.socket);
    if (!record) return;
    // Not flushed first: what was read since the socket's mark is this request's headers.
    const id = technique && this.#counters.has(technique) ? technique : OTHER;
    const declared = Number(req.headers['content-length']);
    record.current = {
      technique: id,
      res,
      declaredBodyBytes: Number.isFinite(declared) && declared > 0 ? declared : 0,
      requestHeadersCounted: false,
      responseHeadersCounted: false,
      handshakeBytes: null,
    };
    this.#setOwner(record, id);
    const counters = this.#get(id);
    counters.httpRequests += 1;
    counters.activeRequests += 1;
    this.#busy.add(record);
    res.once('close', () => this.#end(record));
  }

  /**
   * Marks a WebSocket handshake as done: everything written on the socket since the
   * request began is the 101 response's header block. Call it before sending a frame.
   */
  upgraded(req: IncomingMessage): void {
    const record = this.#sockets.get(req.socket);
    const current = record?.current;
    if (!record || !current) return;
    current.res = null; // the response object of an upgrade is never written
    current.handshakeBytes = counter(record.socket.bytesWritten) - record.writeMark;
    this.#flush(record);
  }

  /** Counts messages handed to a client of `technique` and their payload bytes. */
  delivered(technique: string, messages: number, payloadBytes: number): void {
    const counters = this.#get(technique);
    counters.messagesDelivered += messages;
    counters.payloadBytes += payloadBytes;
  }

  /** Current counters per technique; long-lived requests are brought up to date first. */
  snapshot(): Record<string, WireCounters> {
    for (const record of this.#busy) this.#flush(record);
    const out: Record<string, WireCounters> = {};
    for (const [id, counters] of this.#counters) out[id] = structuredClone(counters);
    return out;
  }

  #socketRecord(socket: Socket | null | undefined): SocketRecord | null {
    if (!socket) return null;
    let record = this.#sockets.get(socket);
    if (!record) {
      const created: SocketRecord = { socket, readMark: 0, writeMark: 0, owner: null, current: null };
      record = created;
      this.#sockets.set(socket, created);
      socket.once('close', () => {
        this.#flush(created);
        if (created.current) this.#finish(created);
        this.#setOwner(created, null);
        this.#busy.delete(created);
      });
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
    if (current.handshakeBytes !== null && !record.socket.destroyed) return;
    this.#get(current.technique).activeRequests -= 1;
    record.current = null;
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
    const counters = this.#get(current?.technique ?? record.owner ?? OTHER);
    if (!current) {
      counters.bytesIn.body += readDelta;
      counters.bytesOut.body += writeDelta;
      return;
    }
    if (!current.requestHeadersCounted) {
      const body = Math.min(current.declaredBodyBytes, readDelta);
      counters.bytesIn.headers += readDelta - body;
      counters.bytesIn.body += body;
      current.requestHeadersCounted = readDelta > 0;
    } else {
      counters.bytesIn.body += readDelta;
    }
    let headersOut = 0;
    if (!current.responseHeadersCounted) {
      if (current.handshakeBytes !== null) {
        headersOut = current.handshakeBytes;
        current.responseHeadersCounted = true;
      } else if (current.res?.headersSent) {
        // Node keeps the exact header block it wrote; its length is the header bytes.
        const header = (current.res as ServerResponse & { _header?: string | null })._header;
        headersOut = header ? Buffer.byteLength(header, 'latin1') : 0;
        current.responseHeadersCounted = true;
      }
    }
    headersOut = Math.min(headersOut, writeDelta);
    counters.bytesOut.headers += headersOut;
    counters.bytesOut.body += writeDelta - headersOut;
  }

  #setOwner(record: SocketRecord, owner: string | null): void {
    if (record.owner === owner) return;
    if (record.owner) this.#get(record.owner).openConnections -= 1;
    if (owner) this.#get(owner).openConnections += 1;
    record.owner = owner;
  }

  #get(technique: string): WireCounters {
    const counters = this.#counters.get(technique) ?? this.#counters.get(OTHER);
    if (!counters) throw new Error('the "other" bucket always exists');
    return counters;
  }
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
