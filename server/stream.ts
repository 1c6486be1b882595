/**
 * Serving one never-ending HTTP response that follows the feed: the machinery Server-Sent
 * Events, the forever iframe and the fetch stream share. Each of them only says how a message, a control
 * event and a heartbeat look on the wire (a StreamFormat); this file does the rest:
 * headers, replay and live delivery with backpressure, heartbeats, dropping a client that
 * stopped reading, ending on shutdown, and cleaning up when the client hangs up.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Message } from './message.ts';
import {
  type ControlEvent,
  FeedClient,
  type FeedPosition,
  type TransportContext,
  encode,
  oncePerMessage,
} from './transport.ts';
import { MAX_STREAM_PADDING_BYTES } from './contract/defaults.js';
import { BadPadding } from './errors.ts';
import { http2SessionOf } from './protocol.ts';
import { joinHeartbeat, leaveHeartbeat } from './heartbeat.ts';

/** How one streaming technique writes things on the wire. */
export interface StreamFormat {
  /** Response headers: content type, caching and proxy buffering. */
  readonly headers: Readonly<Record<string, string>>;
  /** Written once, right after the headers. */
  open(): string;
  /**
   * One message of the feed `epoch`; `json` is its payload, exactly as every technique
   * carries it.
   */
  message(message: Message, json: string, epoch: string): string;
  control(event: ControlEvent): string;
  heartbeat(): string;
  /** A comment of `bytes` bytes that the client ignores, written after `open()` on request. */
  padding(bytes: number): string;
  /**
   * Bytes after which the server ends the response with an `end` event, so the client
   * reopens from its cursor. Undefined for no limit.
   */
  readonly maxBytes?: number;
}

// What a format writes for a message, as one Buffer written to every client of the format
// rather than built, measured and converted again for each: the SSE lines or the escaped
// <script> call, made once per message (oncePerMessage). A message belongs to one feed, so
// its epoch is the same for every client; it is part of what is written all the same, so
// the cache is of one epoch, and made anew when the feed's changes.
interface Formatted {
  bytes: Buffer;
  payloadBytes: number;
}
const formattedByFormat = new WeakMap<StreamFormat, { epoch: string; of: (message: Message) => Formatted }>();

function formatted(format: StreamFormat, message: Message, epoch: string): Formatted {
  let cache = formattedByFormat.get(format);
  if (cache?.epoch !== epoch) {
    cache = {
      epoch,
      of: oncePerMessage((message) => {
        const { json, bytes: payloadBytes } = encode(message);
        return { bytes: Buffer.from(format.message(message, json, epoch)), payloadBytes };
      }),
    };
    formattedByFormat.set(format, cache);
  }
  return cache.of(message);
}

/**
 * Takes over the response and streams the feed from `cursor` of `epoch` into it until the
 * client hangs up, the server shuts down, the byte limit is reached or the client stops
 * reading.
 */
export function serveStream(
  request: FastifyRequest,
  reply: FastifyReply,
  context: TransportContext,
  cursor: number | undefined,
  epoch: string | undefined,
  format: StreamFormat,
): void {
  // Checked before the response is taken over, so a bad value is a plain 400.
  const padding = paddingOf(request.query);
  reply.hijack();
  const res = reply.raw;
  if (request.method === 'HEAD') {
    // Fastify answers HEAD with the GET handler; a HEAD response has no body, so a stream
    // would never end. The headers are the whole answer.
    res.writeHead(200, format.headers).end();
    return;
  }
  // No chunked transfer encoding: a response that never ends needs no length, and
  // HTTP/1.1 lets a body end with its connection (RFC 9112 §6.3). Chunking would add a
  // `<hex length>\r\n … \r\n` line of about 6 bytes to every message: for SSE, a third
  // of its framing. The price: the connection is not reused after the stream ends, which
  // for a stream that lasts as long as the page costs nothing. Over HTTP/2 there is no
  // chunking and no `Connection` header (forbidden there): each write is a DATA frame
  // with its 9-byte header, and the stream ends alone, its connection going on.
  res.removeHeader('transfer-encoding');
  res.writeHead(200, http2SessionOf(request.raw) ? format.headers : { ...format.headers, connection: 'close' });
  flattenHeaderBlock(res);
  const subscriber = new StreamSubscriber(request, res, context, format);
  subscriber.write(format.open() + (padding > 0 ? format.padding(padding) : ''));
  subscriber.start(cursor, epoch);
}

/** The stream of the response `res` is in subscriberOf.get(res): Node calls its listeners with the response as `this`. */
const subscriberOf = new WeakMap<object, StreamSubscriber>();

// One 'close' listener for every stream, not a closure each. `on`, not `once`: it fires
// once anyway, and once's wrapper costs ~200 bytes a connection.
function onResponseClose(this: object): void {
  subscriberOf.get(this)?.hungUp();
}

/**
 * One client of a stream, from its headers to its last words: what it is written and
 * when it ends. A class, so that ten thousand idle streams share its methods and each
 * keeps its fields alone.
 */
class StreamSubscriber extends FeedClient {
  #written = 0;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly request: FastifyRequest,
    readonly res: FastifyReply['raw'],
    context: TransportContext,
    readonly format: StreamFormat,
  ) {
    super(context);
    subscriberOf.set(res, this);
    res.on('close', onResponseClose);
  }

  /** Follows the feed from `cursor` of `epoch`, held for shutdown by its request, with a heartbeat. */
  start(cursor: number | undefined, epoch: string | undefined): void {
    joinHeartbeat(this.context.config.heartbeatMs, this);
    this.follow(this.request.raw, cursor, epoch);
  }

  write(chunk: string | Buffer, flushed?: () => void): boolean {
    this.#written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return this.res.write(chunk, flushed);
  }

  message(message: Message, epoch: string): boolean {
    const { format } = this;
    const { bytes, payloadBytes } = formatted(format, message, epoch);
    const room = this.write(bytes);
    this.context.delivered(this.request.raw, 1, payloadBytes);
    if (format.maxBytes !== undefined && this.#written >= format.maxBytes) this.stop('limit');
    return room;
  }

  control(event: ControlEvent): boolean {
    return this.write(this.format.control(event));
  }

  // A heartbeat behind unread data would only pile up: send it when the buffer is empty.
  beat(): void {
    if (this.res.writableLength === 0) this.write(this.format.heartbeat());
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#stallTimer = setTimeout(() => this.stop('slow'), this.context.config.slowClientTimeoutMs);
      this.res.once('drain', () => {
        clearTimeout(this.#stallTimer);
        resolve();
      });
    });
  }

  // The follow is over: the stream's last words, as its reason calls for.
  ended(position: FeedPosition): void {
    const { request, res, format, context } = this;
    leaveHeartbeat(context.config.heartbeatMs, this);
    clearTimeout(this.#stallTimer);
    context.release(request.raw);
    const ending = this.stopReason ?? 'hangup';
    if (ending === 'hangup') return;
    if (ending === 'slow') {
      // Its buffer is full, so a polite last word would never arrive: cut it.
      request.log.info({ technique: request.routeOptions.config.technique }, 'dropped a client that stopped reading');
      res.destroy();
      return;
    }
    const end = format.control({ type: 'end', epoch: position.epoch, cursor: position.cursor, reason: ending });
    if (ending === 'shutdown' && endsCleanlyWhenCut(request.raw)) {
      // The response stays open: shutdown cuts the connection once this has left, which
      // ends a body delimited by its connection just as res.end() would, on the wire. It
      // spares Node ending thousands of responses one by one while the process leaves.
      this.write(end, () => this.lastWordsSaid());
      return;
    }
    if (ending === 'shutdown') {
      res.end(end, () => this.lastWordsSaid());
      return;
    }
    res.end(end);
  }
}

/**
 * Whether cutting the connection of `request` ends its body as cleanly as `res.end()`:
 * on plain HTTP/1.1, a FIN is the end of a body delimited by its connection. Under TLS a
 * cut without TLS's close_notify is a truncation (RFC 9112 §9.8: clients report it, as
 * undici's "terminated"), and an HTTP/2 stream ends with END_STREAM, not with its
 * session, which other streams share.
 */
function endsCleanlyWhenCut(request: FastifyRequest['raw']): boolean {
  return request.httpVersionMajor === 1 && !(request.socket as { encrypted?: boolean }).encrypted;
}

/**
 * `padding=BYTES`: a comment of that many bytes after the opening, for intermediaries that
 * hold the first KiB of a response before passing anything on; 0 when absent.
 */
function paddingOf(query: unknown): number {
  const raw = (query as Record<string, unknown> | undefined)?.padding;
  if (raw === undefined) return 0;
  const value = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 0 && value <= MAX_STREAM_PADDING_BYTES))
    throw new BadPadding(MAX_STREAM_PADDING_BYTES, JSON.stringify(raw));
  return value;
}

/**
 * Node keeps an HTTP/1.1 response's header block (`_header`) for the response's life,
 * built by a concatenation per header line: a rope of ~28 string pieces, about 900 bytes a
 * stream for as long as it is open. A search makes V8 flatten the rope in place, into one
 * string of the block's length (~200 bytes); the pieces go with the next GC. Nothing is
 * changed: the same string, read the same.
 */
function flattenHeaderBlock(res: FastifyReply['raw']): void {
  const header = (res as { _header?: unknown })._header;
  if (typeof header === 'string') header.indexOf('\n');
}
