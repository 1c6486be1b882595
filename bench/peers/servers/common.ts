/**
 * What every peer server shares with realtime-lab, so that the bench's publisher, clock
 * and counters work on it unchanged: `POST /api/messages` with the same publish check
 * and the same message (an id, `ts` from the same clock, author, text), `GET /api/health`
 * with `now`, and `GET /__bench/wire`, the bytes of the subscribers' sockets counted on
 * the server's side. The broadcast itself is each library's own, in its own file.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { preciseNow } from '../../../server/feed.ts';
import { type Message, checkPublish } from '../../../server/message.ts';

/** realtime-lab's default text limit (MAX_TEXT_BYTES), so both refuse the same texts. */
const MAX_TEXT_BYTES = 4096;
/** Well above a message; the publish check says what is wrong with a body below it. */
const MAX_BODY_BYTES = 32_768;

/** Subscriber sockets' bytes, both ways, since the server started (closed sockets included). */
export interface WireFigures {
  bytes: number;
  /** Subscriber sockets open now. */
  sockets: number;
}

/**
 * Counts the bytes of every socket a server accepts, except the bench's own: the ones
 * that carried a request to `/api/` or `/__bench/` (the publisher, the clock, these
 * figures). Those answers close their connection, so that no subscriber's request is
 * ever carried on a socket the bench used.
 */
export class SocketMeter {
  readonly #open = new Set<Socket>();
  readonly #bench = new WeakSet<Socket>();
  #closedBytes = 0;

  /** Counts every connection `server` accepts from now on. */
  watch(server: NetServer): void {
    server.on('connection', (socket: Socket) => {
      this.#open.add(socket);
      socket.once('close', () => {
        this.#open.delete(socket);
        if (!this.#bench.has(socket)) this.#closedBytes += socket.bytesRead + socket.bytesWritten;
      });
    });
  }

  /** Leaves this socket out: it carries the bench's requests, not a subscriber's. */
  exclude(socket: Socket): void {
    this.#bench.add(socket);
  }

  figures(): WireFigures {
    let bytes = this.#closedBytes;
    let sockets = 0;
    for (const socket of this.#open) {
      if (this.#bench.has(socket)) continue;
      bytes += socket.bytesRead + socket.bytesWritten;
      sockets += 1;
    }
    return { bytes, sockets };
  }
}

export interface PeerHttp {
  server: Server;
  meter: SocketMeter;
  /** Added to `/api/health`: where a client finds what is not on this server (a second port). */
  health: Record<string, string>;
  /** Listens on PORT (0: any) of 127.0.0.1 and prints the line bench/server-process.ts waits for. */
  listen(name: string): Promise<void>;
}

/**
 * An HTTP server with the bench's API. `broadcast` gets each accepted message and its
 * JSON (what realtime-lab's clients receive as the message); every other request goes
 * to `fallback`, or is a 404. Libraries that attach to the server (socket.io, sockjs)
 * take their own paths before these handlers see them.
 */
export function peerHttp(
  broadcast: (json: string, message: Message) => void,
  fallback: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): PeerHttp {
  const meter = new SocketMeter();
  const health: Record<string, string> = {};
  let lastId = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/api/') || path.startsWith('/__bench/')) {
      meter.exclude(req.socket);
      if (path === '/api/messages' && req.method === 'POST') return publish(req, res);
      // The publisher keeps its connections; the clock's and the figures' are closed so
      // that a client library sharing a pool (fetch) never reuses one for a subscriber.
      res.setHeader('connection', 'close');
      if (path === '/api/health' && req.method === 'GET')
        return json(res, 200, { status: 'ok', feed: 'memory', epoch: '', lastId, now: preciseNow(), ...health });
      if (path === '/__bench/wire' && req.method === 'GET') return json(res, 200, meter.figures());
      return json(res, 404, { error: `no ${req.method} ${path} here` });
    }
    if (!fallback(req, res)) json(res, 404, { error: `no ${req.method} ${path} here` });
  });
  meter.watch(server);

  function publish(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return json(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes` });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: 'the body is not JSON' });
      }
      const checked = checkPublish(body, { maxTextBytes: MAX_TEXT_BYTES });
      if (!checked.ok) return json(res, 400, { error: checked.message });
      lastId += 1;
      const message: Message = { id: lastId, ts: preciseNow(), author: checked.value.author, text: checked.value.text };
      const text = JSON.stringify(message);
      broadcast(text, message);
      res.writeHead(201, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(text);
    });
  }

  return {
    server,
    meter,
    health,
    listen: (name) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
          const address = server.address();
          if (address === null || typeof address === 'string') return reject(new Error('no TCP address'));
          console.log(`${name}: serving http://127.0.0.1:${address.port}/`);
          resolve();
        });
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Ends the process on SIGTERM or SIGINT as the bench asks, whatever the library holds open. */
export function exitOnSignal(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}
