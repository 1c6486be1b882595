/**
 * The wire meter as a plugin: the WireMeter (`app.wire`, wire.ts) and the hook that
 * starts counting each request's bytes for its technique and, when it names one, its
 * client.
 */
import fp from 'fastify-plugin';
import { BadClientId } from '../errors.ts';
import { WireMeter } from '../wire.ts';
import { requestHook } from './sync-hooks.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Bytes and messages on the wire, per technique and per client (`/api/stats`). */
    wire: WireMeter;
  }
  interface FastifyContextConfig {
    /** The technique a route belongs to; set for every route of a Transport's scope. */
    technique?: string;
  }
}

/** Listeners a response may have before Node warns: the parts that watch every response, and room for a pipe. */
const RESPONSE_CLOSE_LISTENERS = 20;

export interface WireMeterOptions {
  /** The techniques counted apart; every other request counts as `other`. */
  techniques: readonly string[];
}

/** Decorates `app.wire` and counts every request from its first byte. */
export const wireMeter = fp<WireMeterOptions>(
  async (app, { techniques }) => {
    const wire = new WireMeter(techniques);
    app.decorate('wire', wire);
    app.addHook(
      'onRequest',
      requestHook((request, reply) => {
        // Each cross-cutting part (this meter, the shutdown's bookkeeping, the write deadline)
        // listens once for the response's close, and a piped file adds Node's own: 11 for a
        // page, past the default of 10 at which Node warns of listeners piling up. These do
        // not pile up: a fixed handful per response, gone with it.
        reply.raw.setMaxListeners(RESPONSE_CLOSE_LISTENERS);
        wire.begin(request.raw, reply.raw, request.routeOptions.config.technique, clientOf(request.query));
      }),
    );
  },
  { name: 'realtime-lab-wire-meter', fastify: '5.x' },
);

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The `client` query parameter: an id a page gives its connections so that
 * `/api/stats?client=ID` reports their bytes alone. Absent is fine; malformed is a 400.
 */
export function clientOf(query: unknown): string | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.client;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !CLIENT_ID.test(raw)) throw new BadClientId(JSON.stringify(raw));
  return raw;
}
