/**
 * Connections the bench opens itself, so that it counts every byte on the client side
 * (the server's wire meter does not see HTTP/2 yet): each one is a TCP socket, and over
 * TLS a TLS socket on it, made with `tls.connect({ socket })` so both counters are at
 * hand: the TCP socket's are what went on the wire (encrypted), the TLS socket's the
 * plaintext (HTTP/1.1 messages, or HTTP/2 frames). A session is one connection (HTTP/1.1,
 * requests one after another) or one HTTP/2 session (streams side by side).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import { type Protocol, usesTls } from './protocol.ts';

/** Where the server is, and the one certificate to trust (the development one the bench made). */
export interface Target {
  host: string;
  port: number;
  /** PEM of the server's certificate: trusted as the only CA, nothing else is. */
  ca: string;
}

/** One connection's bytes, both layers. */
export interface CountedConnection {
  tcp: net.Socket;
  /** The socket HTTP reads and writes: the TLS socket, or the TCP socket for plain text. */
  plain: net.Socket;
  /** Bytes both ways on the TCP socket when the TLS handshake was done (0 for plain text). */
  handshakeBytes: number;
  /** The protocol ALPN chose (`h2`, `http/1.1`), or null for plain text. */
  alpn: string | null;
}

/** Opens a counted connection; resolves when it is ready for HTTP (after the handshake over TLS). */
export function connectCounted(target: Target, protocol: Protocol): Promise<CountedConnection> {
  const { connection, ready } = startCounted(target, protocol);
  return ready.then(() => connection);
}

/**
 * Starts a counted connection at once (for a library that wants its socket synchronously,
 * as `ws`'s `createConnection` does); `ready` resolves when it is ready for HTTP, with
 * `handshakeBytes` and `alpn` filled in.
 */
export function startCounted(
  target: Target,
  protocol: Protocol,
): { connection: CountedConnection; ready: Promise<void> } {
  const tcp = net.connect(target.port, target.host);
  tcp.setNoDelay(true);
  if (!usesTls(protocol)) {
    const connection: CountedConnection = { tcp, plain: tcp, handshakeBytes: 0, alpn: null };
    const ready = new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.once('connect', () => resolve());
    });
    return { connection, ready };
  }
  const secure = tls.connect({
    socket: tcp,
    ca: target.ca,
    servername: 'localhost',
    ALPNProtocols: protocol === 'h2' ? ['h2'] : ['http/1.1'],
  });
  const connection: CountedConnection = { tcp, plain: secure, handshakeBytes: 0, alpn: null };
  const ready = new Promise<void>((resolve, reject) => {
    secure.once('error', reject);
    secure.once('secureConnect', () => {
      connection.handshakeBytes = tcp.bytesRead + tcp.bytesWritten;
      connection.alpn = secure.alpnProtocol || null;
      resolve();
    });
  });
  return { connection, ready };
}

/** A response: its status and headers, and its body as it arrives. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Requests over one connection (HTTP/1.1: one at a time) or one HTTP/2 session (side by side). */
export interface Session {
  readonly connection: CountedConnection;
  request(path: string, init?: RequestInit): Promise<Reply>;
  close(): void;
}

/** Opens a session speaking `protocol` (`h2` or HTTP/1.1, plain or over TLS). */
export async function openSession(target: Target, protocol: Protocol): Promise<Session> {
  const connection = await connectCounted(target, protocol);
  return protocol === 'h2' ? h2Session(target, connection) : http1Session(target, connection);
}

async function h2Session(target: Target, connection: CountedConnection): Promise<Session> {
  const session = http2.connect(`https://localhost:${target.port}`, {
    createConnection: () => connection.plain as tls.TLSSocket,
  });
  session.on('error', () => undefined);
  // The preface and SETTINGS both ways belong to the connection, not to its first request.
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  return {
    connection,
    request(path, init = {}) {
      return new Promise((resolve, reject) => {
        const stream = session.request({ ':method': init.method ?? 'GET', ':path': path, ...init.headers });
        stream.once('error', reject);
        stream.once('response', (headers) =>
          resolve({ status: Number(headers[':status']), headers: headers as IncomingHttpHeaders, body: stream }),
        );
        stream.end(init.body);
      });
    },
    close: () => {
      session.destroy();
      connection.tcp.destroy();
    },
  };
}

function http1Session(target: Target, connection: CountedConnection): Session {
  // One socket, kept alive, never a second: this session's bytes are this socket's.
  let handedOut = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = () => {
    if (handedOut) throw new Error('the connection of this session closed');
    handedOut = true;
    return connection.plain;
  };
  return {
    connection,
    request(path, init = {}) {
      return new Promise((resolve, reject) => {
        const request = http.request(
          {
            agent,
            host: target.host,
            port: target.port,
            path,
            method: init.method ?? 'GET',
            headers: { host: `localhost:${target.port}`, ...init.headers },
          },
          (response) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response }),
        );
        request.once('error', reject);
        request.end(init.body);
      });
    },
    close: () => {
      agent.destroy();
      connection.tcp.destroy();
    },
  };
}

/** Reads a whole body. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
