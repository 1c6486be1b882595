/**
 * Short polling: every client asks "anything after my cursor?" once per poll interval,
 * on autocannon connections paced so that their phases are spread over the interval.
 */
import { intervalPollingModel } from '../../server/contract/models.js';
import { type BenchDriver, endpointOf } from './driver.ts';
import { pollers } from './pollers.ts';

export const driver: BenchDriver = {
  client: 'autocannon, one keep-alive connection per client, paced to the poll interval',
  subscribe(context) {
    return pollers(context, {
      path: endpointOf(context.technique),
      intervalMs: context.pollIntervalMs,
      timeoutSec: context.pollIntervalMs / 1000 + 10,
      // Every client has been answered once: from now on it polls steadily.
      ready: (firstAnswers) => firstAnswers,
    });
  },
  // The contract's model of a client that asks once per interval, as the page shows it too.
  predict: intervalPollingModel,
};
