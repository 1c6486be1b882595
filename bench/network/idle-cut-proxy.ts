/**
 * A TCP proxy that closes a connection after `idleMs` without a byte either way, as load
 * balancers do (AWS's ALB and most others: 60 s by default). It knows nothing of HTTP: a
 * held long poll, a quiet stream and a quiet WebSocket all look the same to it, and only
 * bytes (a heartbeat, a ping) keep a connection alive.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import { type Listen, LOOPBACK, listenOn } from './listen.ts';

export interface IdleCutStats {
  accepted: number;
  /** Connections closed for being idle. */
  cut: number;
}

export class IdleCutProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #stats: IdleCutStats = { accepted: 0, cut: 0 };

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on `listen` (a free loopback port by default) and forwards every connection to `target`. */
  static async start(
    target: { host: string; port: number },
    idleMs: number,
    listen: Listen = LOOPBACK,
  ): Promise<IdleCutProxy> {
    const server = createServer();
    const proxy = new IdleCutProxy(server);
    server.on('connection', (client) => proxy.#accept(client, target, idleMs));
    await listenOn(server, listen);
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  get stats(): IdleCutStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, target: { host: string; port: number }, idleMs: number): void {
    this.#stats.accepted += 1;
    const upstream = connect(target.port, target.host);
    // A load balancer closes both sides with a FIN; the client sees its response end early.
    const idle = setTimeout(() => {
      this.#stats.cut += 1;
      client.end();
      upstream.end();
      // Whoever does not finish the close in time is cut outright.
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
      }, 1000).unref();
    }, idleMs);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        idle.refresh();
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
    };
    forward(client, upstream);
    forward(upstream, client);
    const gone = () => {
      clearTimeout(idle);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        gone();
      });
    }
  }
}
