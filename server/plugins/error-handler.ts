/**
 * The one error handler. Handlers and hooks throw; an error that says when to come back
 * (`retryAfterS`, see errors.ts: the publish rate limit, the connection caps, the feed
 * away) gets its Retry-After here, and nowhere else.
 */
import fp from 'fastify-plugin';
import { isRetryLater } from '../errors.ts';

/** Registers the error handler on the root, so that every route, hook and 404 uses it. */
export const errorHandler = fp(
  async (app) => {
    app.setErrorHandler((error, _request, reply) => {
      if (isRetryLater(error)) reply.header('retry-after', String(error.retryAfterS));
      // On to Fastify's own handler (sending from an error handler reaches its parent): it
      // picks the status, writes the JSON error body and logs through the app's LogController.
      reply.send(error);
    });
  },
  { name: 'realtime-lab-error-handler', fastify: '5.x' },
);
