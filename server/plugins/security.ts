/**
 * What a browser page may do with this server, as a plugin: the API's cross-origin
 * policy (origin.ts), the Host check against DNS rebinding (host-check.ts), and the
 * headers every answer carries (nosniff on every answer with a body; the pages'
 * Content-Security-Policy).
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { hostCheck } from '../host-check.ts';
import { applyCors } from '../origin.ts';
import { requestHook, sendHook } from './sync-hooks.ts';

/**
 * The pages' Content-Security-Policy: scripts, styles and connections from this server
 * only, nothing inline, no plugins, and only this server may frame them. `'self'` in
 * connect-src covers ws:// to the same host, and wss:// from an https:// page (CSP Level 3).
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

export interface SecurityOptions {
  config: Pick<Config, 'allowedOrigins' | 'host' | 'allowedHosts'>;
}

/** Adds the CORS and Host checks to every request, a route for preflights, and the headers to every answer. */
export const security = fp<SecurityOptions>(
  async (app, { config }) => {
    // A preflight needs a route to land on. First among the checks, so that a refusal
    // after it (421, 400, 503) still names an allowed origin: its page can read why, and
    // when to come back.
    app.addHook(
      'onRequest',
      requestHook((request, reply) => {
        if (request.url.startsWith('/api/')) applyCors(request, reply, config.allowedOrigins);
      }),
    );
    app.options('/api/*', async (_request, reply) => reply.code(204).send());
    // Before any page, API answer or WebSocket upgrade: a name this server answers to.
    // Counted by the wire meter like any refused request.
    const checkHost = hostCheck(config);
    app.addHook(
      'onRequest',
      requestHook((request) => checkHost(request)),
    );
    app.addHook(
      'onSend',
      sendHook((_request, reply) => {
        // A 204 has no body to sniff (RFC 9110 §15.3.5): 32 bytes for nothing, on every empty poll.
        if (reply.statusCode !== 204) reply.header('x-content-type-options', 'nosniff');
        const type = reply.getHeader('content-type');
        if (typeof type === 'string' && type.startsWith('text/html') && !reply.hasHeader('content-security-policy')) {
          reply.header('content-security-policy', PAGE_CSP);
        }
      }),
    );
  },
  { name: 'realtime-lab-security', fastify: '5.x' },
);
