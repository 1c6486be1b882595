/**
 * A TCP proxy that misbehaves on request: it forwards bytes between clients and the
 * server, and can cut a connection (with a reset or a plain close), blackhole it (stop
 * forwarding both ways without closing: no FIN, no RST, as when a laptop lid closes), or
 * pause it. The bench's `--chaos` mode and the fault tests put it between subscribers and
 * the server. No such tool can be installed here (toxiproxy, tc netem), hence this one.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

export type CutKind = 'reset' | 'close';

/** One client connection and its twin towards the server. */
export interface ProxiedConnection {
  readonly id: number;
  readonly client: Socket;
  readonly upstream: Socket;
  /** True while bytes are not forwarded. */
  blackholed: boolean;
}

export interface FaultProxyStats {
  accepted: number;
  cut: number;
  blackholed: number;
}

export class FaultProxy {
  readonly #server: Server;
  readonly #open = new Map<number, ProxiedConnection>();
  /** Every socket still open, blackholed ones included, so that close() ends them all. */
  readonly #sockets = new Set<Socket>();
  readonly #stats: FaultProxyStats = { accepted: 0, cut: 0, blackholed: 0 };
  #nextId = 1;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on a free loopback port and forwards every connection to `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server);
    server.on('connection', (client) => proxy.#accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections open right now. */
  get connections(): ProxiedConnection[] {
    return [...this.#open.values()];
  }

  get stats(): FaultProxyStats {
    return { ...this.#stats };
  }

  /** Cuts one connection: `reset` sends RST both ways, `close` a FIN. */
  cut(connection: ProxiedConnection, kind: CutKind = 'reset'): void {
    if (!this.#open.delete(connection.id)) return;
    this.#stats.cut += 1;
    for (const socket of [connection.client, connection.upstream]) {
      if (kind === 'reset' && typeof socket.resetAndDestroy === 'function' && !socket.destroyed && !socket.connecting)
        socket.resetAndDestroy();
      else if (kind === 'close') socket.end();
      else socket.destroy();
    }
  }

  /** Cuts a connection chosen at random among the open ones; false if none is open. */
  cutRandom(kind: CutKind = 'reset', random: () => number = Math.random): boolean {
    const open = this.connections.filter((c) => !c.blackholed);
    const victim = open[Math.floor(random() * open.length)];
    if (!victim) return false;
    this.cut(victim, kind);
    return true;
  }

  /** Stops forwarding a connection both ways; its sockets stay open and silent. */
  blackhole(connection: ProxiedConnection): void {
    if (connection.blackholed) return;
    connection.blackholed = true;
    this.#stats.blackholed += 1;
  }

  /** Stops forwarding every connection for `ms`, then forwards what piled up. */
  pause(connection: ProxiedConnection, ms: number): void {
    connection.client.pause();
    connection.upstream.pause();
    setTimeout(() => {
      connection.client.resume();
      connection.upstream.resume();
    }, ms).unref();
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#open.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target.port, target.host);
    const connection: ProxiedConnection = { id: this.#nextId++, client, upstream, blackholed: false };
    this.#open.set(connection.id, connection);
    this.#stats.accepted += 1;
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        // A blackholed connection swallows what it gets: the sender sees no error at all.
        if (connection.blackholed) return;
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => {
        if (!connection.blackholed) to.end();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const gone = () => {
      this.#open.delete(connection.id);
      if (!connection.blackholed) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('close', gone);
    upstream.on('close', gone);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
    }
  }
}
