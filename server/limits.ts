/**
 * The limits a user can configure, and the cross-origin policy: what keeps one client,
 * or one page on another site, from taking the server for itself.
 *
 * - Publishing is rate limited per client with a token bucket (PUBLISH_RATE_PER_CLIENT,
 *   PUBLISH_BURST), keyed by the `client` id a request names, or by its address when it
 *   names none: every bench client and every tab of a classroom on one laptop is
 *   127.0.0.1, so an address alone would throttle them together. Since an id costs
 *   nothing to invent, each address also has a wider bucket of its own
 *   (PUBLISH_RATE_PER_ADDRESS, PUBLISH_BURST_PER_ADDRESS) that every publish takes from.
 * - Each technique may hold MAX_CONNECTIONS_PER_TECHNIQUE requests open; past it a new
 *   one gets 503 with Retry-After (checked before a WebSocket upgrade).
 * - Host: every request must name, in its Host header, a name this server answers to
 *   (421 otherwise), so a page on a DNS-rebinding domain cannot pass for this server's own.
 * - CORS: the API answers other origins only if ALLOWED_ORIGINS lists them, naming that
 *   origin exactly (never `*`, never whatever Origin was sent). WebSocket handshakes follow
 *   the same origin policy (`checkSocketOrigin`), both relying on the checked Host.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { BadHost, ForbiddenCorsOrigin, ForbiddenOrigin, MisdirectedHost, PublishRateLimited, TooManyConnections } from './errors.ts';

/**
 * Buckets kept at most, per kind (client ids, addresses); past this, the least recently
 * used is forgotten (and starts full again).
 */
export const MAX_RATE_BUCKETS = 10_000;
/** What a client refused for too many connections is told to wait, s. */
export const CONNECTIONS_RETRY_AFTER_S = 5;
/** How long a browser may cache a preflight answer, s. */
const PREFLIGHT_MAX_AGE_S = 600;

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key: `rate` tokens a second, at most `burst` saved up, MAX_RATE_BUCKETS keys. */
class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  /** The bucket of `key` refilled up to `now` (ms), made the most recently used. */
  refill(key: string, now: number): Bucket {
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    this.#buckets.delete(key);
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > MAX_RATE_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value as string);
    return bucket;
  }

  /** How long until `bucket` holds a whole token again, ms. */
  waitMs(bucket: Bucket): number {
    return Math.ceil(((1 - bucket.tokens) / this.rate) * 1000);
  }
}

/**
 * The publish limit: a token bucket per client id (or per address for a request that
 * names none), and one per address whatever ids its requests name, so that inventing
 * an id per publish buys nothing past the address's rate. A publish takes a token from
 * both or from neither: a client refused by its own limit does not spend its
 * neighbours' share of the address. The addresses' buckets are kept apart from the
 * clients', so that inventing more ids than MAX_RATE_BUCKETS forgets other clients'
 * buckets but never an address's.
 */
export class PublishLimiter {
  readonly #clients: TokenBuckets;
  readonly #addresses: TokenBuckets;
  readonly #now: () => number;

  constructor(
    config: Pick<Config, 'publishRatePerClient' | 'publishBurst' | 'publishRatePerAddress' | 'publishBurstPerAddress'>,
    now: () => number = () => performance.now(),
  ) {
    this.#clients = new TokenBuckets(config.publishRatePerClient, config.publishBurst);
    this.#addresses = new TokenBuckets(config.publishRatePerAddress, config.publishBurstPerAddress);
    this.#now = now;
  }

  /**
   * Takes one token for a publish by `client` (undefined: it named none) from `address`;
   * throws a 429 saying which limit (with how long to wait) when either has none.
   */
  take(client: string | undefined, address: string | undefined): void {
    const now = this.#now();
    const from = addressKey(address);
    const limits: { buckets: TokenBuckets; bucket: Bucket; who: string; what: string }[] = [];
    if (this.#clients.rate > 0) {
      const who = client !== undefined ? `client ${JSON.stringify(client)}` : `client at address ${from} (it names no client id)`;
      const bucket = this.#clients.refill(client !== undefined ? `client:${client}` : `address:${from}`, now);
      limits.push({ buckets: this.#clients, bucket, who, what: 'per client id: PUBLISH_RATE_PER_CLIENT, PUBLISH_BURST' });
    }
    if (this.#addresses.rate > 0) {
      const bucket = this.#addresses.refill(from, now);
      limits.push({ buckets: this.#addresses, bucket, who: `address ${from}`, what: 'per address, whatever client ids it names: PUBLISH_RATE_PER_ADDRESS, PUBLISH_BURST_PER_ADDRESS' });
    }
    const empty = limits.filter(({ bucket }) => bucket.tokens < 1);
    const [first] = empty;
    if (first) {
      const waitMs = Math.max(...empty.map(({ buckets, bucket }) => buckets.waitMs(bucket)));
      const limit = `${first.buckets.rate}/s, bursts of ${first.buckets.burst}, ${first.what}`;
      throw Object.assign(new PublishRateLimited(first.who, limit, waitMs), { retryAfterMs: waitMs });
    }
    for (const { bucket } of limits) bucket.tokens -= 1;
  }
}

/**
 * The key an address is limited by. An IPv4 address is itself (also when the socket
 * shows it IPv4-mapped, `::ffff:a.b.c.d`). An IPv6 address counts by its /64: one host
 * is usually given a whole /64, and could otherwise take a new address per publish.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const groups = ipv6Groups(address.replace(/%.*$/, ''));
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/** The eight 16-bit groups of an IPv6 address, in hex without leading zeros; null if it is not one. */
function ipv6Groups(address: string): string[] | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const parse = (half: string | undefined): string[] => {
    if (!half) return [];
    const parts = half.split(':');
    const last = parts.at(-1) ?? '';
    // An IPv4 tail (64:ff9b::192.0.2.1) is the last two groups.
    if (last.includes('.')) {
      const bytes = last.split('.').map(Number);
      parts.splice(-1, 1, (((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0)).toString(16), (((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)).toString(16));
    }
    return parts;
  };
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...Array<string>(Math.max(0, missing)).fill('0'), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  return groups.map((group) => parseInt(group, 16).toString(16));
}

/** Sets Retry-After on a rate-limited answer: whole seconds, rounded up. */
export function retryAfter(reply: FastifyReply, error: unknown): void {
  const waitMs = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  if (typeof waitMs === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
}

/** Refuses a new held request of `technique` when it already has `max` (503 + Retry-After). */
export function checkConnectionCap(reply: FastifyReply, technique: string, active: number, max: number): void {
  // `active` already counts this request.
  if (active > max) {
    reply.header('retry-after', String(CONNECTIONS_RETRY_AFTER_S));
    throw new TooManyConnections(technique, max);
  }
}

/**
 * Names every server answers to, whatever HOST says. Not `*.localhost`: browsers resolve
 * those to loopback by themselves, but other resolvers may ask DNS, where a hostile
 * resolver can answer, and nothing here uses them (ALLOWED_HOSTS can name one).
 */
const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'];
/** HOST values that mean every interface, which name no host. */
const WILDCARD_HOSTS = ['0.0.0.0', '::', '[::]'];
/** A Host header: a name (letters, digits, `.`, `-`, `_`) or an IP literal (IPv6 in brackets), then maybe a port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{0,5})?$/i;

/**
 * The hostname a Host header value names, written as a browser writes it (lowercase, IP
 * literals in canonical form, IPv6 in brackets), its port dropped; null when the value is
 * not `hostname[:port]`.
 */
export function hostnameOf(host: string): string | null {
  const match = HOST_HEADER.exec(host);
  if (!match) return null;
  try {
    return new URL(`http://${match[1] as string}/`).hostname;
  } catch {
    return null; // e.g. 999.1.1.1: shaped like an address, but none
  }
}

/** An interface address (`::ffff:192.0.2.2`, `fe80::1%eth0`, `127.0.0.1`) as the hostname a browser would send for it. */
function addressHostname(address: string | undefined): string | null {
  if (!address) return null;
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').replace(/%.*$/, '');
  return hostnameOf(plain.includes(':') ? `[${plain}]` : plain);
}

/**
 * The Host check, against DNS rebinding. A page on evil.example, whose DNS answer is
 * switched to this server's address, is same-origin with this server as far as the
 * browser knows: it may read every answer and open WebSockets with its own Origin, which
 * matches its own Host. Only the Host header carries the name the page used, so it must be
 * one the server answers to: localhost, 127.0.0.1, [::1], HOST (unless it is 0.0.0.0 or
 * ::), the names in ALLOWED_HOSTS, or the address the client's connection reached (the
 * teacher's LAN address when HOST=0.0.0.0: taken from the socket, so an address that
 * came up after the start counts at once). An attacker's DNS name is none of these; the
 * port is not checked, since the attacker picks the name, not the port. Anything else gets
 * 421 Misdirected Request (this server is not the one for that name), before any page,
 * API answer or WebSocket upgrade.
 *
 * No Host at all is let through for HTTP/1.0 only: HTTP/1.1 requires it, and a browser
 * always sends it, so its absence is never a page's request. Two Host headers, or one
 * that is not `hostname[:port]`, get 400: a proxy and this server could read them
 * differently.
 *
 * Returns the check, to run on every request; it throws the 4xx.
 */
export function hostCheck(config: Pick<Config, 'host' | 'allowedHosts'>): (request: FastifyRequest) => void {
  const names = new Set(LOOPBACK_HOSTNAMES);
  if (!WILDCARD_HOSTS.includes(config.host)) {
    const own = hostnameOf(config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host);
    if (own !== null) names.add(own);
  }
  for (const name of config.allowedHosts) {
    const allowed = hostnameOf(name);
    if (allowed !== null) names.add(allowed);
  }
  return (request) => {
    const hosts = hostHeaders(request.raw);
    if (hosts.length > 1) throw new BadHost(`got ${hosts.length} Host headers; a request carries one`);
    const [host] = hosts;
    if (host === undefined) {
      if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 0) return;
      throw new BadHost('an HTTP/1.1 request must carry a Host header naming this server');
    }
    const hostname = hostnameOf(host);
    if (hostname === null) throw new BadHost(`Host must be hostname[:port], got ${JSON.stringify(host)}`);
    if (names.has(hostname) || hostname === addressHostname(request.raw.socket.localAddress)) return;
    throw new MisdirectedHost(JSON.stringify(hostname));
  };
}

/** Every Host header of a request: Node keeps only the first in `headers`. */
function hostHeaders(raw: IncomingMessage): string[] {
  const hosts: string[] = [];
  for (let i = 0; i < raw.rawHeaders.length; i += 2) {
    if ((raw.rawHeaders[i] as string).toLowerCase() === 'host') hosts.push(raw.rawHeaders[i + 1] as string);
  }
  return hosts;
}

/**
 * Where a browser page that sent `origin` stands: this server's own page (its origin's
 * host and port are the request's Host, which `hostCheck` has vouched for: a rebinding
 * page's own name never gets this far), a site ALLOWED_ORIGINS names, or foreign (a
 * malformed Origin too). The scheme is not compared, so a page served over https by a
 * proxy in front is still this server's own.
 */
export function originStanding(request: FastifyRequest, origin: string, allowed: readonly string[]): 'same' | 'allowed' | 'foreign' {
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // A malformed Origin matches nothing.
  }
  if (host !== null && host === request.headers.host?.toLowerCase()) return 'same';
  return allowed.includes(origin) ? 'allowed' : 'foreign';
}

/**
 * The CORS policy, for every /api/ request. Same-origin requests carry no Origin (or
 * their own): nothing to do. An allowed origin gets exactly its own name back; any
 * other gets no CORS header, so its page cannot read the answer, and its preflight a 403.
 */
export function applyCors(request: FastifyRequest, reply: FastifyReply, allowed: readonly string[]): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const standing = originStanding(request, origin, allowed);
  if (standing === 'same') return;
  reply.header('vary', 'Origin');
  if (standing === 'allowed') reply.header('access-control-allow-origin', origin);
  if (request.method === 'OPTIONS') {
    if (standing === 'foreign') throw new ForbiddenCorsOrigin(JSON.stringify(origin), allowed.length ? allowed.join(', ') : 'none (set ALLOWED_ORIGINS)');
    reply.header('access-control-allow-methods', 'GET, POST, HEAD');
    reply.header('access-control-allow-headers', 'content-type, last-event-id');
    reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
  }
}

/**
 * The WebSocket handshake's origin policy, the same as CORS's. Browsers send the page's
 * Origin with a handshake and, unlike fetch, enforce no cross-origin rule on the answer:
 * the server has to. A request without an Origin is not from a browser page (a CLI, the
 * bench) and is let through.
 */
export function checkSocketOrigin(request: FastifyRequest, allowed: readonly string[]): void {
  const origin = request.headers.origin;
  if (origin === undefined || originStanding(request, origin, allowed) !== 'foreign') return;
  throw new ForbiddenOrigin(JSON.stringify(origin), allowed.length ? `, ${allowed.join(', ')}` : '');
}

/**
 * The pages' Content-Security-Policy: scripts, styles and connections from this server
 * only, nothing inline, no plugins, and only this server may frame them. `'self'` in
 * connect-src covers ws:// to the same host (CSP Level 3).
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');
