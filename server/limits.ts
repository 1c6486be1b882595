/**
 * The limits a user can configure: what keeps one client from taking the server for
 * itself. (The Host check is in host-check.ts, the origin policy in origin.ts.)
 *
 * - Publishing is rate limited per client with a token bucket (PUBLISH_RATE_PER_CLIENT,
 *   PUBLISH_BURST), keyed by the `client` id a request names, or by its address when it
 *   names none: every bench client and every tab of a classroom on one laptop is
 *   127.0.0.1, so an address alone would throttle them together. Since an id costs
 *   nothing to invent, each address also has a wider bucket of its own
 *   (PUBLISH_RATE_PER_ADDRESS, PUBLISH_BURST_PER_ADDRESS) that every publish takes from.
 * - Each technique may hold MAX_CONNECTIONS_PER_TECHNIQUE requests open; past it a new
 *   one gets 503 with Retry-After (checked before a WebSocket upgrade).
 */
import type { Config } from './config.ts';
import { PublishRateLimited, TooManyConnections } from './errors.ts';

/**
 * Buckets kept at most, per kind (client ids, addresses); past this, the least recently
 * used is forgotten (and starts full again).
 */
export const MAX_RATE_BUCKETS = 10_000;

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
      const who =
        client !== undefined ? `client ${JSON.stringify(client)}` : `client at address ${from} (it names no client id)`;
      const bucket = this.#clients.refill(client !== undefined ? `client:${client}` : `address:${from}`, now);
      limits.push({
        buckets: this.#clients,
        bucket,
        who,
        what: 'per client id: PUBLISH_RATE_PER_CLIENT, PUBLISH_BURST',
      });
    }
    if (this.#addresses.rate > 0) {
      const bucket = this.#addresses.refill(from, now);
      limits.push({
        buckets: this.#addresses,
        bucket,
        who: `address ${from}`,
        what: 'per address, whatever client ids it names: PUBLISH_RATE_PER_ADDRESS, PUBLISH_BURST_PER_ADDRESS',
      });
    }
    const empty = limits.filter(({ bucket }) => bucket.tokens < 1);
    const [first] = empty;
    if (first) {
      const waitMs = Math.max(...empty.map(({ buckets, bucket }) => buckets.waitMs(bucket)));
      const limit = `${first.buckets.rate}/s, bursts of ${first.buckets.burst}, ${first.what}`;
      throw new PublishRateLimited(first.who, limit, waitMs);
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
      parts.splice(
        -1,
        1,
        (((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0)).toString(16),
        (((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)).toString(16),
      );
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

/** Refuses a new held request of `technique` when it already has `max` (503, which says when to come back). */
export function checkConnectionCap(technique: string, active: number, max: number): void {
  // `active` already counts this request.
  if (active > max) throw new TooManyConnections(technique, max);
}
