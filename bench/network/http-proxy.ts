/**
 * An HTTP/1.1 forward-to-one-server proxy of our own, with the two habits of real
 * intermediaries that break realtime techniques, each switched on by an option:
 *
 * - **holding response bodies** (`holdBytes`): like antivirus scanners and corporate proxies
 *   that want to see a body before passing it on, it keeps what the server sent until it
 *   has `holdBytes` or the response ends. `hold: 'every'` does it again for every
 *   `holdBytes` (a stream arrives in lumps, its tail never); `hold: 'first'` only for the
 *   first `holdBytes` of each response, then forwards as it comes (a content sniffer:
 *   what the classic 2 KiB / 4 KiB padding prelude is for).
 * - **not knowing Upgrade** (`stripUpgrade`): `Upgrade` and `Connection` are hop-by-hop
 *   headers (RFC 9110 §7.6.1, §7.8); a proxy that does not implement the upgrade drops them
 *   like any other, so a WebSocket handshake reaches the server as a plain GET.
 *
 * Otherwise it is an ordinary proxy: request and response headers pass (hop-by-hop ones
 * excepted), the status, the body. Keep-alive and pipelining are node:http's own: each
 * client connection gets one upstream connection (an agent with one socket), so requests
 * go upstream one at a time, in order, and responses come back in order. Without
 * `stripUpgrade` an upgrade is tunnelled byte for byte.
 */
import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import { type Socket, connect } from 'node:net';
import { type Listen, LOOPBACK, listenOn } from './listen.ts';

export interface HttpProxyOptions {
  /** Hold each response body until it has this many bytes (or ends); 0 forwards at once. */
  holdBytes?: number;
  /** `every`: lump after lump of `holdBytes`; `first`: only the first `holdBytes`, then as it comes. */
  hold?: 'every' | 'first';
  /** Drop `Upgrade` and the `upgrade` token, as a proxy that does not implement upgrades does. */
  stripUpgrade?: boolean;
}

export interface HttpProxyStats {
  /** Client connections accepted. */
  connections: number;
  /** Requests forwarded as plain HTTP requests. */
  requests: number;
  /** Upstream answers by status code, e.g. `{ "200": 40, "426": 10 }`. */
  statuses: Record<string, number>;
  /** Requests that asked for an upgrade: tunnelled, or sent on as plain GETs without it. */
  upgradesTunnelled: number;
  upgradesStripped: number;
  /** Times held bytes were let go before their response ended (the hold filled). */
  holdsReleased: number;
}

/** Connection-specific headers a proxy never forwards (RFC 9110 §7.6.1), `upgrade` among them. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export class HttpProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #options: Required<HttpProxyOptions>;
  readonly #sockets = new Set<Socket>();
  readonly #stats: HttpProxyStats = {
    connections: 0,
    requests: 0,
    statuses: {},
    upgradesTunnelled: 0,
    upgradesStripped: 0,
    holdsReleased: 0,
  };

  private constructor(target: { host: string; port: number }, options: HttpProxyOptions) {
    this.#target = target;
    this.#options = { holdBytes: 0, hold: 'every', stripUpgrade: false, ...options };
    // No request timeout: a held stream or a long poll is a request that lasts.
    this.#server = createServer({ requestTimeout: 0, keepAliveTimeout: 5000 });
    this.#server.on('connection', (socket: Socket) => this.#accept(socket));
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#forward(req, res));
    // Without an 'upgrade' listener node:http hands such a request to 'request' like any other.
    if (!this.#options.stripUpgrade)
      this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
        this.#tunnel(req, socket, head),
      );
  }

  /** Listens on `listen` (a free loopback port by default) and forwards everything to `target`. */
  static async start(
    target: { host: string; port: number },
    options: HttpProxyOptions = {},
    listen: Listen = LOOPBACK,
  ): Promise<HttpProxy> {
    const proxy = new HttpProxy(target, options);
    await listenOn(proxy.#server, listen);
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  get stats(): HttpProxyStats {
    return { ...this.#stats, statuses: { ...this.#stats.statuses } };
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#stats.connections += 1;
    this.#track(socket);
    // One upstream connection per client connection: requests stay in order and one at a time.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.set(socket, agent);
    socket.once('close', () => agent.destroy());
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    this.#stats.requests += 1;
    if (req.headers.upgrade !== undefined) this.#stats.upgradesStripped += 1;
    const upstream = request({
      host: this.#target.host,
      port: this.#target.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent: agents.get(req.socket),
    });
    upstream.on('response', (answer) => this.#answer(answer, res));
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // The client hung up (a closed page, a cut): the server must see it too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  #answer(answer: IncomingMessage, res: ServerResponse): void {
    const status = answer.statusCode ?? 502;
    this.#stats.statuses[status] = (this.#stats.statuses[status] ?? 0) + 1;
    res.writeHead(status, answer.statusMessage, endToEnd(answer.headers));
    // The headers go at once: it is the body these proxies sit on.
    res.flushHeaders();
    const { holdBytes, hold } = this.#options;
    let held: Buffer[] = [];
    let heldBytes = 0;
    let holding = holdBytes > 0;
    const release = () => {
      if (heldBytes > 0) res.write(Buffer.concat(held));
      held = [];
      heldBytes = 0;
    };
    answer.on('data', (chunk: Buffer) => {
      if (!holding) {
        if (!res.write(chunk)) {
          answer.pause();
          res.once('drain', () => answer.resume());
        }
        return;
      }
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= holdBytes) {
        this.#stats.holdsReleased += 1;
        release();
        if (hold === 'first') holding = false;
      }
    });
    answer.on('end', () => {
      release();
      res.end();
    });
    // The server cut the connection mid-body: so does the proxy, with what it held lost.
    answer.on('aborted', () => res.destroy());
    answer.on('error', () => res.destroy());
  }

  #tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    this.#stats.upgradesTunnelled += 1;
    this.#track(client);
    const upstream = connect(this.#target.port, this.#target.host, () => {
      let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${lines}\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    this.#track(upstream);
    const gone = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', gone);
    upstream.once('close', gone);
  }
}

/** The upstream agent of each client connection. */
const agents = new WeakMap<Socket, Agent>();

/** The headers a proxy passes on: all but the hop-by-hop ones, and those `Connection` names. */
function endToEnd(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}
