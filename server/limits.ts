/**
 * The limits a user can configure, and the cross-origin policy: what keeps one client,
 * or one page on another site, from taking the server for itself.
 *
 * - Publishing is rate limited per client with a token bucket (PUBLISH_RATE_PER_CLIENT,
 *   PUBLISH_BURST), keyed by the `client` id a request names, or by its address when it
 *   names none: every bench client and every tab of a classroom on one laptop is
 *   127.0.0.1, so an address alone would throttle them together.
 * - Each technique may hold MAX_CONNECTIONS_PER_TECHNIQUE requests open; past it a new
 *   one gets 503 with Retry-After (checked before a WebSocket upgrade).
 * - CORS: the API answers other origins only if ALLOWED_ORIGINS lists them, naming that
 *   origin exactly (never `*`, never whatever Origin was sent).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { ForbiddenCorsOrigin, PublishRateLimited, TooManyConnections } from './errors.ts';

/** Buckets kept at most; past this, the least recently used client is forgotten (and starts full). */
export const MAX_RATE_BUCKETS = 10_000;
/** What a client refused for too many connections is told to wait, s. */
export const CONNECTIONS_RETRY_AFTER_S = 5;
/** How long a browser may cache a preflight answer, s. */
const PREFLIGHT_MAX_AGE_S = 600;

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per client: `rate` tokens a second, at most `burst` saved up. */
export class PublishLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(config: Pick<Config, 'publishRatePerClient' | 'publishBurst'>, now: () => number = () => performance.now()) {
    this.#rate = config.publishRatePerClient;
    this.#burst = config.publishBurst;
    this.#now = now;
  }

  /** Takes one token for `key`; throws a 429 (with how long to wait) when there is none. */
  take(key: string): void {
    if (this.#rate === 0) return;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    this.#buckets.delete(key);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > MAX_RATE_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value as string);
    if (bucket.tokens < 1) {
      const waitMs = Math.ceil(((1 - bucket.tokens) / this.#rate) * 1000);
      throw Object.assign(new PublishRateLimited(JSON.stringify(key), `${this.#rate}/s, bursts of ${this.#burst}`, waitMs), { retryAfterMs: waitMs });
    }
    bucket.tokens -= 1;
  }
}

/** The key a request is limited by: its client id, or its address. */
export function limitKey(client: string | undefined, address: string | undefined): string {
  return client !== undefined ? `client:${client}` : `address:${address ?? 'unknown'}`;
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
 * The CORS policy, for every /api/ request. Same-origin requests carry no Origin (or
 * their own): nothing to do. An allowed origin gets exactly its own name back; any
 * other gets no CORS header, so its page cannot read the answer, and its preflight a 403.
 */
export function applyCors(request: FastifyRequest, reply: FastifyReply, allowed: readonly string[]): void {
  const origin = request.headers.origin;
  if (origin === undefined || isSameOrigin(request, origin)) return;
  reply.header('vary', 'Origin');
  const permitted = allowed.includes(origin);
  if (permitted) reply.header('access-control-allow-origin', origin);
  if (request.method === 'OPTIONS') {
    if (!permitted) throw new ForbiddenCorsOrigin(JSON.stringify(origin), allowed.length ? allowed.join(', ') : 'none (set ALLOWED_ORIGINS)');
    reply.header('access-control-allow-methods', 'GET, POST, HEAD');
    reply.header('access-control-allow-headers', 'content-type, last-event-id');
    reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
  }
}

function isSameOrigin(request: FastifyRequest, origin: string): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
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
