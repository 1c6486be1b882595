/**
 * Short polling: every client asks "anything after my cursor?" once per poll interval,
 * on autocannon connections paced so that their phases are spread over the interval.
 */
import { firstMessageLatency, oneWayMs } from '../network/model.ts';
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
  predict({ clients, subscribedMs, pollIntervalMs, publishedIds, network, payloadBytesPerMessage }) {
    const predictions: ReturnType<BenchDriver['predict']> = [
      {
        metric: 'httpRequests',
        predicted: (clients * subscribedMs) / pollIntervalMs,
        tolerance: 0.1,
        toleranceAbs: clients,
        model: 'clients × time connected ÷ poll interval',
      },
    ];
    if (publishedIds.length > 0) {
      predictions.push({
        metric: 'meanLatencyMs',
        predicted: pollIntervalMs / 2 + oneWayMs(network, payloadBytesPerMessage),
        tolerance: 0.25,
        model: 'a message waits half an interval for the next poll, on average, then the answer travels one way',
      });
    }
    predictions.push(
      firstMessageLatency(
        network,
        2,
        "TCP's handshake (1 round trip), then the first poll, which leaves at once and is answered with the message already waiting (1)",
      ),
    );
    return predictions;
  },
};
