/**
 * Long polling: every client keeps one request open; the server answers it when a message
 * exists (or the hold time runs out) and the client asks again at once, with its new
 * cursor. autocannon sends the next request as soon as an answer is in.
 */
import { LONG_POLL_TIMEOUT_MS } from '../../server/contract/defaults.js';
import { heldPollingModel } from '../../server/contract/models.js';
import { type BenchDriver, endpointOf } from './driver.ts';
import { heldOpen, pollers } from './pollers.ts';

export const driver: BenchDriver = {
  client: 'autocannon, one keep-alive connection per client, next request at once',
  subscribe(context) {
    return pollers(context, {
      path: endpointOf(context.technique),
      // No `timeout=`: the hold is the server's default, which the bench's servers are
      // started with (server-process.ts) and the model below is about; naming it again
      // would cost 14 bytes a request.
      timeoutSec: LONG_POLL_TIMEOUT_MS / 1000 + 10,
      ready: () => heldOpen(context, context.clients),
    });
  },
  // The contract's model of a held request asked again at once (batching past one message
  // per round trip), as the page shows it too.
  predict: heldPollingModel,
};
