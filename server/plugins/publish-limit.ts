/**
 * The publish rate limit, shared by every way to publish (the API's POST, WebSocket
 * frames), and the abuse meter that counts its refusals among what misbehaving clients did.
 */
import fp from 'fastify-plugin';
import { AbuseMeter } from '../abuse.ts';
import { PublishLimiter } from '../limits.ts';
import type { ConnectionKey } from '../transport.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** What misbehaving clients did (`/api/stats` → `abuse`). */
    abuse: AbuseMeter;
    /**
     * Counts one publish against the rate limit of `client` (or of the request's address
     * when it names none); throws the 429, which says when to come back, when over it.
     */
    limitPublish(request: ConnectionKey, client: string | undefined): void;
  }
}

export interface PublishLimitOptions {
  config: ConstructorParameters<typeof PublishLimiter>[0];
}

/** Decorates `app.abuse` and `app.limitPublish`. */
export const publishLimit = fp<PublishLimitOptions>(
  async (app, { config }) => {
    const abuse = new AbuseMeter();
    const limiter = new PublishLimiter(config);
    app.decorate('abuse', abuse);
    app.decorate('limitPublish', (request: ConnectionKey, client: string | undefined) => {
      try {
        limiter.take(client, request.socket.remoteAddress);
      } catch (error) {
        abuse.count('rateLimitedPublishes');
        throw error;
      }
    });
  },
  { name: 'realtime-lab-publish-limit', fastify: '5.x' },
);
