/**
 * The wire meter's half for HTTP/2 (wire.ts keeps HTTP/1.1 and WebSockets). Over HTTP/2,
 * every request of a connection is a stream of one session, and the session's socket
 * counts the bytes of them all together: on a TLS socket, `bytesRead`/`bytesWritten` are
 * the plaintext, that is the HTTP/2 frames (checked in server/http2.test.ts against the
 * frames a client sent). So bytes are attributed per session, at every flush (a stream's
 * start and end, a snapshot), to the streams the session carried since the last flush:
 *
 * - **body**: the DATA payload of each stream, exact. What a response writes is counted
 *   as it goes to the stream, and attributed only as the session's socket writes it (a
 *   stream the client stopped reading keeps its unsent bytes pending, not counted);
 *   inbound, a request's declared Content-Length.
 * - **headers**: everything else the session read or wrote meanwhile: HEADERS frames
 *   (HPACK-compressed, so a repeated request's headers shrink to a few bytes), the 9-byte
 *   header of every frame, SETTINGS, WINDOW_UPDATE, PING, GOAWAY. It goes to the
 *   technique (and client) of the streams that were open, when they are all of one; when
 *   streams of several overlapped, no split of it would be true, so it goes to a figure of
 *   its own, `sharedHttp2` (not invented per technique). Bytes of a session with no stream
 *   open go to its latest stream's technique, as an idle keep-alive connection's do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionKey } from './transport.ts';
import { type Http2Session, constants } from 'node:http2';
import type { WireCounters } from './contract/stats.js';

/** Session bytes that streams of several techniques shared: no technique's alone. */
export interface SharedHttp2Bytes {
  bytesIn: number;
  bytesOut: number;
}

interface StreamRecord {
  buckets: readonly WireCounters[];
  /** Bytes the response wrote to its stream, not yet seen leave the session's socket. */
  bodyOutPending: number;
  /** The request's declared body, not yet seen arrive. */
  bodyInPending: number;
  open: boolean;
}

interface SessionRecord {
  socket: { bytesRead?: number; bytesWritten?: number };
  readMark: number;
  writeMark: number;
  /** Streams open now, and those ended with bytes not yet attributed. */
  streams: Set<StreamRecord>;
  /** Counters of the latest stream: the ones this connection counts as open for. */
  owner: readonly WireCounters[] | null;
}

/** An HTTP/2 request, as Node's compatibility layer gives it. */
type Http2Request = IncomingMessage & { stream: { session: Http2Session | undefined; rstCode?: number } };

/** Whether `req` came over HTTP/2 (a stream of a session) rather than HTTP/1.1. */
export function isHttp2(req: IncomingMessage): req is Http2Request {
  return req.httpVersionMajor === 2 && 'stream' in req;
}

export class Http2WireMeter {
  readonly #sessions = new WeakMap<Http2Session, SessionRecord>();
  readonly #busy = new Set<SessionRecord>();
  readonly #requests = new WeakMap<ConnectionKey, StreamRecord>();
  readonly #shared: SharedHttp2Bytes = { bytesIn: 0, bytesOut: 0 };
  /** Where a session's bytes go when it has no stream and never had one. */
  readonly #idle: WireCounters;

  constructor(idle: WireCounters) {
    this.#idle = idle;
  }

  /**
   * Starts accounting for the stream of `req`: its bytes go to `buckets`, and it leaves
   * them (`activeRequests`) when its response closes.
   */
  begin(req: Http2Request, res: ServerResponse, buckets: readonly WireCounters[], declaredBodyBytes: number): void {
    const session = req.stream.session;
    if (!session) return;
    const record = this.#sessionRecord(session);
    const stream: StreamRecord = { buckets, bodyOutPending: 0, bodyInPending: declaredBodyBytes, open: true };
    this.#requests.set(req, stream);
    record.streams.add(stream);
    this.#setOwner(record, this.#ownerOf(record));
    this.#busy.add(record);
    countWrites(res, (bytes) => {
      stream.bodyOutPending += bytes;
    });
    // After the stream joined: the HEADERS frame just read is its own.
    this.#flush(record);
    res.once('close', () => {
      stream.open = false;
      this.#flush(record);
      // What a closed stream still waits for will never come as its own: a body declared
      // and not (all) sent, DATA its client reset. Left pending, the record would take
      // every later byte of the connection for it and stay as long as the connection.
      stream.bodyInPending = 0;
      if (req.stream.rstCode !== undefined && req.stream.rstCode !== constants.NGHTTP2_NO_ERROR)
        stream.bodyOutPending = 0;
      this.#flush(record);
      for (const counters of buckets) counters.activeRequests -= 1;
      this.#setOwner(record, this.#ownerOf(record));
    });
  }

  /** The counters of the stream of `req`, if it is an HTTP/2 request being metered. */
  bucketsOf(req: ConnectionKey): readonly WireCounters[] | undefined {
    return this.#requests.get(req)?.buckets;
  }

  /** Brings every session with a stream up to date. */
  flushAll(): void {
    for (const record of this.#busy) this.#flush(record);
  }

  /** The session bytes no single technique's streams had alone, since the start. */
  shared(): SharedHttp2Bytes {
    return { ...this.#shared };
  }

  #sessionRecord(session: Http2Session): SessionRecord {
    let record = this.#sessions.get(session);
    if (!record) {
      const created: SessionRecord = {
        socket: realSocketOf(session),
        readMark: 0,
        writeMark: 0,
        streams: new Set(),
        owner: null,
      };
      record = created;
      this.#sessions.set(session, created);
      session.once('close', () => {
        this.#flush(created);
        this.#setOwner(created, null);
        this.#busy.delete(created);
      });
    }
    return record;
  }

  #flush(record: SessionRecord): void {
    const read = counter(record.socket.bytesRead);
    const written = counter(record.socket.bytesWritten);
    let readLeft = read - record.readMark;
    let writeLeft = written - record.writeMark;
    record.readMark = read;
    record.writeMark = written;

    const streams = [...record.streams];
    for (const stream of streams) {
      const bodyIn = Math.min(stream.bodyInPending, readLeft);
      const bodyOut = Math.min(stream.bodyOutPending, writeLeft);
      stream.bodyInPending -= bodyIn;
      stream.bodyOutPending -= bodyOut;
      readLeft -= bodyIn;
      writeLeft -= bodyOut;
      for (const counters of stream.buckets) {
        counters.bytesIn.body += bodyIn;
        counters.bytesOut.body += bodyOut;
      }
    }
    const owners = distinctOwners(streams.map((stream) => stream.buckets));
    if (owners.length > 1) {
      this.#shared.bytesIn += readLeft;
      this.#shared.bytesOut += writeLeft;
    } else {
      for (const counters of owners[0] ?? record.owner ?? [this.#idle]) {
        counters.bytesIn.headers += readLeft;
        counters.bytesOut.headers += writeLeft;
      }
    }
    for (const stream of streams)
      if (!stream.open && stream.bodyOutPending === 0 && stream.bodyInPending === 0) record.streams.delete(stream);
    if (record.streams.size === 0) this.#busy.delete(record);
  }

  /**
   * Whom the connection counts as open for: the latest open stream of a technique (a
   * publish on the same connection does not take a subscriber's stream from it), else the
   * latest open stream, else the latest stream, as an idle HTTP/1.1 connection.
   */
  #ownerOf(record: SessionRecord): readonly WireCounters[] | null {
    let latestOpen: readonly WireCounters[] | null = null;
    let latestTechnique: readonly WireCounters[] | null = null;
    for (const stream of record.streams) {
      if (!stream.open) continue;
      latestOpen = stream.buckets;
      if (stream.buckets[0] !== this.#idle) latestTechnique = stream.buckets;
    }
    return latestTechnique ?? latestOpen ?? record.owner;
  }

  #setOwner(record: SessionRecord, owner: readonly WireCounters[] | null): void {
    if (record.owner === owner) return;
    for (const counters of record.owner ?? []) counters.openConnections -= 1;
    for (const counters of owner ?? []) counters.openConnections += 1;
    record.owner = owner;
  }
}

/** The bucket lists among `lists` that differ (same counters, in the same order, are one). */
function distinctOwners(lists: (readonly WireCounters[])[]): (readonly WireCounters[])[] {
  const distinct: (readonly WireCounters[])[] = [];
  for (const list of lists)
    if (!distinct.some((seen) => seen.length === list.length && seen.every((counters, i) => counters === list[i])))
      distinct.push(list);
  return distinct;
}

/**
 * Calls `count` with the bytes of every chunk the response writes: its DATA payload. The
 * compatibility layer's `end(chunk)` and a pipe both write through `write`.
 */
function countWrites(res: ServerResponse, count: (bytes: number) => void): void {
  const write = res.write;
  res.write = function countedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    count(byteLengthOf(chunk, rest[0]));
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
}

function byteLengthOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/**
 * The TLS socket under `session`. `session.socket` is a proxy that throws once the socket
 * is unbound (at the session's close, when its last bytes are counted), but forwards a
 * method call to the socket itself: `setMaxListeners` returns its `this`, the socket.
 */
function realSocketOf(session: Http2Session): { bytesRead?: number; bytesWritten?: number } {
  const proxy = session.socket;
  return proxy.setMaxListeners(proxy.getMaxListeners());
}

function counter(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
