/**
 * The one origin policy, for CORS and for WebSocket handshakes alike: the API answers
 * other origins only if ALLOWED_ORIGINS lists them, naming that origin exactly (never `*`,
 * never whatever Origin was sent). `originStanding` is the only place that decides; both
 * paths rely on the Host that the Host check (host-check.ts) has vouched for.
 */
import { authorityOf } from './host-check.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenCorsOrigin, ForbiddenOrigin } from './errors.ts';

/** How long a browser may cache a preflight answer, s. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * Where a browser page that sent `origin` stands: this server's own page (its origin's
 * host and port are the request's Host, which `hostCheck` has vouched for: a rebinding
 * page's own name never gets this far), a site ALLOWED_ORIGINS names, or foreign (a
 * malformed Origin too). The scheme is not compared, so a page served over https by a
 * proxy in front is still this server's own.
 */
export function originStanding(
  request: FastifyRequest,
  origin: string,
  allowed: readonly string[],
): 'same' | 'allowed' | 'foreign' {
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // A malformed Origin matches nothing.
  }
  if (host !== null && host === authorityOf(request.raw)?.toLowerCase()) return 'same';
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
    if (standing === 'foreign')
      throw new ForbiddenCorsOrigin(
        JSON.stringify(origin),
        allowed.length ? allowed.join(', ') : 'none (set ALLOWED_ORIGINS)',
      );
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
