/**
 * The routes that belong to no single technique: publishing, the wire statistics and the
 * health check.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { BadPublish } from './errors.ts';
import type { Feed } from './feed.ts';
import { checkPublish } from './message.ts';
import type { WireMeter } from './wire.ts';

export interface ApiOptions {
  feed: Feed;
  config: Config;
  wire: WireMeter;
}

export async function api(app: FastifyInstance, { feed, config, wire }: ApiOptions): Promise<void> {
  // Publishing lives in its own scope because it accepts only application/json: Fastify
  // also parses text/plain by default, and text/plain is what a cross-site HTML form (or
  // a "simple" cross-origin fetch, which needs no preflight) can send.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, scope.getDefaultJsonParser('error', 'error'));
    scope.post('/api/messages', { bodyLimit: config.bodyLimitBytes }, async (request, reply) => {
      const checked = checkPublish(request.body, config);
      if (!checked.ok) throw new BadPublish(checked.message);
      const message = await feed.publish(checked.value);
      return reply.code(201).header('cache-control', 'no-store').send(message);
    });
  });

  app.get('/api/stats', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { lastId: feed.lastId, listeners: feed.listenerCount, techniques: wire.snapshot() };
  });

  app.get('/api/health', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok', feed: config.feed, lastId: feed.lastId };
  });
}
