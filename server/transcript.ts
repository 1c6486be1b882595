/**
 * Real wire transcripts for the technique pages: the server opens a raw TCP connection to
 * itself, sends one request of the technique, and records the bytes both ways for a
 * moment. What a page shows is what this server actually wrote, not a hand-written copy.
 */
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';

/** How long a transcript listens to a response that does not end by itself, ms. */
export const TRANSCRIPT_LISTEN_MS = 700;
/** How long the recording waits for its connection to the server itself (and, over TLS, its handshake), ms. */
const CONNECT_MS = 2000;
/**
 * For a technique that holds a request without streaming (a long poll): how long the
 * request is held at the head of the feed before the recording publishes a message, ms.
 * Long enough to see the hold from across a room, short enough to wait for.
 */
export const HOLD_BEFORE_PUBLISH_MS = 1500;
/** The message the recording of a held request publishes, so that the hold ends. */
export const HELD_TRANSCRIPT_MESSAGE = {
  author: 'transcript',
  text: 'published while the request was held',
} as const;

/** Bytes of response kept; the rest is cut (a replayed history can be long). */
export const TRANSCRIPT_MAX_BYTES = 6000;

export interface Transcript {
  /** The request exactly as sent. */
  request: string;
  /** The response bytes as received (text), with WebSocket frames made readable. */
  response: string;
  /** Bytes received in all, before any cut. */
  responseBytes: number;
  /**
   * What carried it: `http/1.1`, or `http/1.1 over TLS` when the server serves TLS. Over
   * TLS a browser takes HTTP/2 for every request but a WebSocket's handshake: the
   * transcript still shows the HTTP/1.1 exchange, whose text a person can read (HTTP/2
   * sends the same fields as binary frames, HPACK-compressed).
   */
  protocol: 'http/1.1' | 'http/1.1 over TLS';
  /** From the request's last byte written to the response's first byte read, ms (null: none came). */
  firstByteMs: number | null;
  /** From the request's last byte written to the end of the recording, ms. */
  elapsedMs: number;
  /**
   * Each read from the socket: when it came, ms after the request was written, and its
   * bytes. The technique pages draw their sequence diagrams from these measured times.
   */
  chunks: { atMs: number; bytes: number }[];
}

/** A held exchange: the request waited at the head of the feed until a message was published. */
export interface HeldTranscript extends Transcript {
  /** When the recording published its message, ms after the request was written (null: another publish ended the hold first). */
  publishedAtMs: number | null;
}

/** How a transcript is recorded. */
export interface TranscriptOptions {
  /** As a WebSocket handshake. */
  upgrade: boolean;
  /** The handshake refused this way. */
  failure?: HandshakeFailure;
  /** Over TLS, asking for HTTP/1.1 by ALPN: the server serves TLS only (npm start -- --tls). */
  tls?: boolean;
  /** How long to listen for the answer, ms; TRANSCRIPT_LISTEN_MS by default. */
  listenMs?: number;
  /** Called once the request has been written whole. */
  onSent?: () => void;
}

/**
 * The same handshake refused, for the technique pages to show beside the good one: each
 * differs from it in one header. The good handshake sends this server's own Origin and
 * offers SUBPROTOCOL_OFFERED, as a browser's `new WebSocket(url, protocol)` on its page would.
 */
export type HandshakeFailure = 'foreignOrigin' | 'wrongVersion';

/** A technique that upgrades: its transcript, and the same handshake refused each way. */
export interface UpgradeTranscript extends Transcript {
  refused: Record<HandshakeFailure, Transcript>;
}

/** What a refused handshake changes: a page on another site, or a client of an older draft. */
const FAILURES: Record<HandshakeFailure, { origin?: string; version?: string }> = {
  // .invalid is reserved (RFC 2606): no real site, and no ALLOWED_ORIGINS entry, has it.
  foreignOrigin: { origin: 'https://foreign.invalid' },
  // 7 is a pre-RFC draft (hybi-07) that ws does not speak; 13 is RFC 6455's.
  wrongVersion: { version: '7' },
};

/**
 * The subprotocol the recorded handshake offers, so the transcript shows
 * `Sec-WebSocket-Protocol` both ways. JSON text frames are what the endpoint sends when
 * no subprotocol is offered, so offering it changes nothing the transcript shows after the 101.
 */
export const SUBPROTOCOL_OFFERED = 'realtime-lab.v1.json';

/** Where the server reaches itself: a TCP address, or the path of a Unix socket. */
export type SelfAddress = { host: string; port: number } | { path: string };

/**
 * The address a server listening on `address` (what `server.address()` answers) can
 * connect to: the one it listens on, or, when it listens on every interface, loopback
 * of the same family (an IPv6-only host has no 127.0.0.1, and HOST=::1 does not listen there).
 */
export function selfAddress(address: AddressInfo | string): SelfAddress {
  if (typeof address === 'string') return { path: address };
  if (address.address === '0.0.0.0') return { host: '127.0.0.1', port: address.port };
  if (address.address === '::') return { host: '::1', port: address.port };
  return { host: address.address, port: address.port };
}

/** The Host header that names `target`: an IPv6 address goes in brackets. */
function hostHeader(target: SelfAddress): string {
  if ('path' in target) return 'localhost';
  return net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** The Origin a page served by `target` sends: what the server's origin check calls its own. */
function ownOrigin(target: SelfAddress, secure: boolean): string {
  return `${secure ? 'https' : 'http'}://${hostHeader(target)}`;
}

/** A connection to `target`, in TLS asking for HTTP/1.1 when `secure`. */
function connectTo(target: SelfAddress, secure: boolean): Socket {
  if (!secure) return 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
  // The server talking to itself: its own certificate, which no authority signed, is the
  // one expected, so it is not checked.
  const where = 'path' in target ? { path: target.path } : { host: target.host, port: target.port };
  return tls.connect({ ...where, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false });
}

/**
 * Sends `GET path` (as a WebSocket handshake when `upgrade` is set, refused in the way
 * `failure` names if given) to the server at `target` and records what comes back until
 * the connection ends or TRANSCRIPT_LISTEN_MS pass.
 */
export function recordTranscript(
  target: SelfAddress,
  path: string,
  { upgrade, failure, tls: secure = false, listenMs = TRANSCRIPT_LISTEN_MS, onSent }: TranscriptOptions,
): Promise<Transcript> {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${hostHeader(target)}`,
    'User-Agent: realtime-lab-transcript',
    'Accept: */*',
  ];
  if (upgrade) {
    const refused = failure ? FAILURES[failure] : {};
    lines.push(
      `Origin: ${refused.origin ?? ownOrigin(target, secure)}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      `Sec-WebSocket-Version: ${refused.version ?? '13'}`,
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      `Sec-WebSocket-Protocol: ${SUBPROTOCOL_OFFERED}`,
    );
  } else {
    lines.push('Connection: close');
  }
  const request = `${lines.join('\r\n')}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connectTo(target, secure);
    const chunks: Buffer[] = [];
    const reads: Transcript['chunks'] = [];
    let sentAt = performance.now();
    let firstByteMs: number | null = null;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const protocol = secure ? 'http/1.1 over TLS' : 'http/1.1';
      const elapsedMs = Math.round(performance.now() - sentAt);
      resolve({
        request,
        response: readable(raw),
        responseBytes: raw.length,
        protocol,
        firstByteMs,
        elapsedMs,
        chunks: reads,
      });
    };
    // The listening starts once the request is written, not when the connection is asked
    // for: on a busy server connecting can take a good part of the window. When the window
    // ends, what already waits in the socket is read first (the timer's turn comes before
    // the reads of the same turn of the event loop), so a server that answered in time is
    // never recorded as silent: under load a browser test once got no bytes at all.
    const endListening = () => setImmediate(finish);
    let timer = setTimeout(endListening, CONNECT_MS + listenMs);
    socket.on(secure ? 'secureConnect' : 'connect', () =>
      socket.write(request, () => {
        sentAt = performance.now();
        clearTimeout(timer);
        timer = setTimeout(endListening, listenMs);
        onSent?.();
      }),
    );
    socket.on('data', (chunk) => {
      const atMs = Math.round(performance.now() - sentAt);
      firstByteMs ??= atMs;
      chunks.push(chunk);
      reads.push({ atMs, bytes: chunk.length });
    });
    socket.on('end', finish);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Records a request held at the head of the feed (`path` asks for what comes after the
 * newest message): HOLD_BEFORE_PUBLISH_MS after it is written, `publishWhileHeld` runs,
 * and the answer it causes is recorded. The hold shown is the one measured, first byte
 * and all, not a figure written into the page.
 */
export async function recordHeldExchange(
  target: SelfAddress,
  path: string,
  publishWhileHeld: () => Promise<unknown>,
  secure = false,
): Promise<HeldTranscript> {
  let publishedAtMs: number | null = null;
  let publishing: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const held = () => {
    const sentAt = performance.now();
    timer = setTimeout(() => {
      publishedAtMs = Math.round(performance.now() - sentAt);
      // Settled before the recording ends; its refusal is kept, not left unhandled meanwhile.
      publishing = publishWhileHeld().then(
        () => undefined,
        (error: unknown) => ({ error }),
      );
    }, HOLD_BEFORE_PUBLISH_MS);
  };
  try {
    const listenMs = HOLD_BEFORE_PUBLISH_MS + 3 * TRANSCRIPT_LISTEN_MS;
    const transcript = await recordTranscript(target, path, { upgrade: false, tls: secure, listenMs, onSent: held });
    const refused = await publishing;
    if (refused) throw (refused as { error: unknown }).error;
    return { ...transcript, publishedAtMs };
  } finally {
    clearTimeout(timer);
  }
}

/** The response as text; after a 101, each WebSocket frame on a line of its own, described. */
function readable(raw: Buffer): string {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const head = headerEnd === -1 ? raw : raw.subarray(0, headerEnd + 4);
  let text = head.toString('latin1');
  if (headerEnd !== -1) {
    const rest = raw.subarray(headerEnd + 4);
    text += text.startsWith('HTTP/1.1 101') ? describeFrames(rest) : rest.toString('utf8');
  }
  if (text.length > TRANSCRIPT_MAX_BYTES)
    text = `${text.slice(0, TRANSCRIPT_MAX_BYTES)}\n[… cut here: ${raw.length} bytes in all]`;
  return text;
}

const OPCODES: Record<number, string> = { 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

/** Server frames are unmasked: 2 header bytes, plus 2 or 8 for longer payloads. */
function describeFrames(bytes: Buffer): string {
  const out: string[] = [];
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    const opcode = (bytes[offset] ?? 0) & 0x0f;
    let length = (bytes[offset + 1] ?? 0) & 0x7f;
    let header = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset + 2));
      header = 10;
    }
    const payload = bytes.subarray(offset + header, offset + header + length);
    out.push(
      `[${OPCODES[opcode] ?? `opcode ${opcode}`} frame: ${header}-byte header + ${length}-byte payload] ${payload.toString('utf8')}`,
    );
    offset += header + length;
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
