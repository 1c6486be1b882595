/**
 * One HTTP/1.1 exchange on a raw socket, every byte both ways kept: what the server wrote,
 * header line by header line, with nothing a client library adds, drops or reorders. For
 * the tests of what goes on the wire and the byte table of docs/wire-bytes.md.
 */
import net from 'node:net';

/** What came back: the head (status line and header lines, as written) and the body's bytes. */
export interface RawResponse {
  status: number;
  /** The status line and each header line, without their CRLF, in the order written. */
  lines: string[];
  /** Header names, lower-cased, with their values. */
  headers: Map<string, string>;
  /** Bytes of the head, the blank line included. */
  headBytes: number;
  body: Buffer;
}

/** The connection, for exchanges one after another on it (keep-alive). */
export interface RawConnection {
  /**
   * Writes `request` and resolves with the response: complete (Content-Length, or no body
   * for a 1xx, 204 or 304), or, for a body that has no length (a stream), what came within
   * `listenMs` once `until(bodySoFar)` holds (immediately when not given).
   */
  exchange(request: string, options?: { listenMs?: number; until?: (body: Buffer) => boolean }): Promise<RawResponse>;
  /** Resolves once the response in progress has `bytes` body bytes or more, with them all. */
  atLeast(bytes: number, timeoutMs?: number): Promise<Buffer>;
  /** Bytes the server wrote after the last response's head, so far. */
  bodySoFar(): Buffer;
  /** Whether the server has ended the connection. */
  readonly ended: boolean;
  close(): void;
}

/** Opens a raw connection to `port` on 127.0.0.1. */
export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let ended = false;
    let wake: () => void = () => undefined;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      wake();
    });
    socket.on('end', () => {
      ended = true;
      wake();
    });
    socket.once('error', reject);
    const changed = (timeoutMs: number) =>
      new Promise<boolean>((done) => {
        const timer = setTimeout(() => done(false), timeoutMs);
        wake = () => {
          clearTimeout(timer);
          done(true);
        };
      });
    let head: { end: number } | null = null;
    const connection: RawConnection = {
      get ended() {
        return ended;
      },
      bodySoFar: () => (head ? buffer.subarray(head.end) : Buffer.alloc(0)),
      async atLeast(bytes, timeoutMs = 5000) {
        const deadline = Date.now() + timeoutMs;
        while (connection.bodySoFar().length < bytes) {
          if (ended || Date.now() > deadline) throw new Error(`${bytes} body bytes did not come`);
          await changed(deadline - Date.now());
        }
        return connection.bodySoFar();
      },
      async exchange(request, { listenMs = 0, until } = {}) {
        buffer = Buffer.alloc(0);
        head = null;
        socket.write(request);
        const deadline = Date.now() + 10_000;
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end !== -1) {
            head = { end: end + 4 };
            break;
          }
          if (ended || Date.now() > deadline) throw new Error(`no response head: ${buffer.toString('latin1')}`);
          await changed(deadline - Date.now());
        }
        const lines = buffer
          .subarray(0, head.end - 4)
          .toString('latin1')
          .split('\r\n');
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
        }
        const status = Number(lines[0]?.split(' ')[1]);
        const length = headers.get('content-length');
        // A 101's bytes after its head are the new protocol's: read like a stream's.
        const bodyless = status === 204 || status === 304 || (status < 200 && status !== 101);
        if (length !== undefined) {
          while (buffer.length - head.end < Number(length)) {
            if (ended || Date.now() > deadline) throw new Error('the body did not come whole');
            await changed(deadline - Date.now());
          }
        } else if (!bodyless) {
          while (until && !until(connection.bodySoFar())) {
            if (ended || Date.now() > deadline) throw new Error('the stream never showed what was awaited');
            await changed(deadline - Date.now());
          }
          if (listenMs > 0) await new Promise((done) => setTimeout(done, listenMs));
        }
        const bodyEnd = length !== undefined ? head.end + Number(length) : bodyless ? head.end : buffer.length;
        return { status, lines, headers, headBytes: head.end, body: buffer.subarray(head.end, bodyEnd) };
      },
      close: () => socket.destroy(),
    };
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(connection);
    });
  });
}

/** A GET as a minimal client writes it: the request line, Host, and the blank line. */
export function rawGet(port: number, path: string, extraLines: readonly string[] = []): string {
  return [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...extraLines, '', ''].join('\r\n');
}
