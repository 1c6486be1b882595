/**
 * A TCP proxy that makes loopback look like a real network: per direction, every chunk
 * waits a one-way delay (half the round trip, ± jitter), is serialised at a bandwidth,
 * and may be "lost". `tc netem` is not available on these machines, and `tc tbf` alone
 * does no delay, hence this one, in user space, for the bench and the pages alike.
 *
 * What an application sees of loss over TCP is not a missing byte (TCP never loses one
 * end to end) but a late one: the segment is sent again after the retransmission timeout,
 * and every byte behind it waits too (head-of-line blocking). So a lost chunk is modelled
 * as its retransmission: it arrives one RTO later, RTO = max(200 ms, 2 × RTT) (Linux's
 * floor is 200 ms; RFC 6298's initial 1 s is for connections without an RTT sample).
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { retransmissionTimeoutMs } from '../../server/contract/models.js';

/** The conditions of one link, the same both ways. */
export interface NetworkConditions {
  /** Round trip added to loopback's, ms: each direction waits half of it. */
  rttMs: number;
  /** Bandwidth per direction, kbit/s (1 kbit = 1000 bits); none: loopback's. */
  bandwidthKbit?: number;
  /** Share of chunks that are "lost" (arrive one RTO late), %. */
  lossPercent?: number;
  /** Each chunk's one-way delay varies by up to ± this, ms (never reordering). */
  jitterMs?: number;
}

export interface ShapingProxyOptions {
  target: { host: string; port: number };
  conditions: NetworkConditions;
  /** Seeds the jitter and loss draws, so that a run can be repeated exactly. */
  seed?: number;
  /** Where to listen: 127.0.0.1 and a free port unless told. */
  host?: string;
  port?: number;
}

export interface ShapingStats {
  connections: number;
  /** Chunks forwarded, both directions. */
  chunks: number;
  /** Chunks that were "lost", and so waited one retransmission timeout more. */
  lost: number;
}

// What a lost chunk costs: one retransmission timeout, ms; the models count it the same way.
export { retransmissionTimeoutMs };

/** Past this many bytes waiting in one direction, the sender is paused (TCP's window, roughly). */
const QUEUE_HIGH_WATER = 256 * 1024;

/** How early the timer wakes before a chunk is due, ms; the rest is waited turn by turn. */
const EARLY_WAKE_MS = 1.5;

/** Mulberry32: small, fast and seedable; plenty for jitter and loss draws. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One direction of a connection: chunks leave the sender serialised at the bandwidth,
 * travel the one-way delay, and are written in order when they arrive.
 */
class Link {
  readonly #queue: { at: number; chunk: Buffer | null }[] = [];
  readonly #to: Socket;
  readonly #from: Socket;
  readonly #conditions: NetworkConditions;
  readonly #random: () => number;
  readonly #stats: ShapingStats;
  /** When the sender's side of the link is free again (serialisation), performance.now() ms. */
  #busyUntil: number;
  /** When the last chunk queued arrives: no chunk may arrive before it. */
  #lastArrival = 0;
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(
    from: Socket,
    to: Socket,
    conditions: NetworkConditions,
    random: () => number,
    stats: ShapingStats,
    notBefore: number,
  ) {
    this.#from = from;
    this.#to = to;
    this.#conditions = conditions;
    this.#random = random;
    this.#stats = stats;
    this.#busyUntil = notBefore;
  }

  /** A chunk from the sender; null for its end (FIN), which travels behind the data. */
  push(chunk: Buffer | null): void {
    const now = performance.now();
    const { rttMs, bandwidthKbit, lossPercent = 0, jitterMs = 0 } = this.#conditions;
    const bytes = chunk?.length ?? 0;
    // A token bucket with no depth: bytes leave at the rate, one after the other.
    const leaves = Math.max(now, this.#busyUntil) + (bandwidthKbit ? (bytes * 8) / bandwidthKbit : 0);
    this.#busyUntil = leaves;
    let delay = rttMs / 2;
    if (jitterMs > 0) delay += (this.#random() * 2 - 1) * jitterMs;
    if (chunk && lossPercent > 0 && this.#random() * 100 < lossPercent) {
      delay += retransmissionTimeoutMs(rttMs);
      this.#stats.lost += 1;
    }
    // TCP delivers in order: a chunk that would overtake an earlier one waits for it.
    const at = Math.max(leaves + Math.max(0, delay), this.#lastArrival);
    this.#lastArrival = at;
    if (chunk) this.#stats.chunks += 1;
    if (this.#queue.length === 0 && at <= now) {
      this.#deliver(chunk);
      return;
    }
    this.#queue.push({ at, chunk });
    this.#queuedBytes += bytes;
    if (this.#queuedBytes > QUEUE_HIGH_WATER) this.#from.pause();
    if (this.#queue.length === 1) this.#arm();
  }

  stop(): void {
    if (this.#timer && 'refresh' in this.#timer) clearTimeout(this.#timer);
    else if (this.#timer) clearImmediate(this.#timer);
    this.#queue.length = 0;
  }

  #arm(): void {
    const head = this.#queue[0];
    if (!head) return;
    const wait = head.at - performance.now();
    // setTimeout fires a millisecond or so late, which would add up to a few percent of a
    // short trip: it is set to wake early, and the last fraction is waited on the next
    // turns of the event loop (arrival times are absolute, so no error ever adds up).
    this.#timer =
      wait > EARLY_WAKE_MS
        ? setTimeout(() => this.#flush(), Math.floor(wait - EARLY_WAKE_MS))
        : setImmediate(() => this.#flush());
  }

  #flush(): void {
    const now = performance.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { at: number }).at <= now) {
      const { chunk } = this.#queue.shift() as { at: number; chunk: Buffer | null };
      this.#queuedBytes -= chunk?.length ?? 0;
      this.#deliver(chunk);
    }
    if (this.#queuedBytes <= QUEUE_HIGH_WATER / 2 && this.#from.isPaused()) this.#from.resume();
    this.#arm();
  }

  #deliver(chunk: Buffer | null): void {
    if (this.#to.destroyed) return;
    if (chunk === null) this.#to.end();
    else this.#to.write(chunk);
  }
}

/** A TCP proxy in front of `target` that delays, throttles and "loses" what it forwards. */
export class ShapingProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #links = new Set<Link>();
  readonly #random: () => number;
  readonly #stats: ShapingStats = { connections: 0, chunks: 0, lost: 0 };
  /** The conditions applied, as given. */
  readonly conditions: Readonly<NetworkConditions>;

  private constructor(server: Server, conditions: NetworkConditions, seed: number) {
    this.#server = server;
    this.conditions = Object.freeze({ ...conditions });
    this.#random = seededRandom(seed);
  }

  /** Listens (on a free loopback port unless told) and forwards every connection to `target`. */
  static async start(options: ShapingProxyOptions): Promise<ShapingProxy> {
    checkConditions(options.conditions);
    // Half-open allowed: each side's FIN is forwarded behind its data, not at once.
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const proxy = new ShapingProxy(server, options.conditions, options.seed ?? Date.now());
    server.on('connection', (client) => proxy.#accept(client, options.target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get stats(): ShapingStats {
    return { ...this.#stats };
  }

  /** Closes the listener and every connection through it. */
  async close(): Promise<void> {
    for (const link of this.#links) link.stop();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, target: { host: string; port: number }): void {
    this.#stats.connections += 1;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    // TCP's handshake costs the client one round trip before its first byte can leave.
    const handshakeDone = performance.now() + this.conditions.rttMs;
    const up = new Link(client, upstream, this.conditions, this.#random, this.#stats, handshakeDone);
    const down = new Link(upstream, client, this.conditions, this.#random, this.#stats, 0);
    for (const link of [up, down]) this.#links.add(link);
    client.on('data', (chunk: Buffer) => up.push(chunk));
    client.on('end', () => up.push(null));
    upstream.on('data', (chunk: Buffer) => down.push(chunk));
    upstream.on('end', () => down.push(null));
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', (hadError) => {
        this.#sockets.delete(socket);
        // A reset on one side is a reset on the other, at once (as a RST is not queued behind data).
        if (hadError) {
          client.destroy();
          upstream.destroy();
        }
        if (client.destroyed && upstream.destroyed) {
          up.stop();
          down.stop();
          this.#links.delete(up);
          this.#links.delete(down);
        }
      });
    }
  }
}

/** Throws a plain message for conditions no link can have. */
export function checkConditions(c: NetworkConditions): void {
  const bad = (what: string) => {
    throw new RangeError(`network conditions: ${what}`);
  };
  if (!Number.isFinite(c.rttMs) || c.rttMs < 0) bad(`rttMs must be ≥ 0, got ${c.rttMs}`);
  if (c.bandwidthKbit !== undefined && !(c.bandwidthKbit > 0)) bad(`bandwidthKbit must be > 0, got ${c.bandwidthKbit}`);
  if (c.lossPercent !== undefined && !(c.lossPercent >= 0 && c.lossPercent < 100))
    bad(`lossPercent must be in 0..100, got ${c.lossPercent}`);
  if (c.jitterMs !== undefined && !(c.jitterMs >= 0)) bad(`jitterMs must be ≥ 0, got ${c.jitterMs}`);
}
