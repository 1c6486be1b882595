/**
 * Time to first message: what a client pays from the moment it starts connecting to the
 * moment it holds a message that was already waiting. The run's subscribers connect
 * before anything is published, so their delays never show the handshakes; these probes
 * do. They are fresh clients of the run's own driver (so the handshakes are exactly the
 * subscribers', and one piece serves every technique), each from the feed's last id − 1,
 * all at once so the probes cost one first message's time, not N of them.
 */
import type { Clock } from '../clock.ts';
import type { BenchDriver, SubscribeContext, Subscribers } from '../drivers/driver.ts';
import { round } from '../delivery.ts';

/** Fresh clients per run: enough for a median, few enough to cost well under a second on loopback. */
export const FIRST_MESSAGE_PROBES = 3;

/** What one run's probes found: their median, and each probe's time (null: nothing arrived in time). */
export interface FirstMessageFigures {
  medianMs: number | null;
  samplesMs: (number | null)[];
}

export interface FirstMessageProbe {
  driver: BenchDriver;
  technique: SubscribeContext['technique'];
  /** Where the subscribers connected: the same shaper (or loopback) as theirs. */
  baseUrl: string;
  /** A client id of the probes' own, so that their requests are never counted as the run's. */
  clientId: string;
  /** The feed's last id: the message each probe waits for. */
  lastId: number;
  epoch: string | undefined;
  pollIntervalMs: number;
  clock: Clock;
  /** How long one probe may wait for its message, ms. */
  timeoutMs: number;
  probes?: number;
}

/** Opens the probes together and resolves with their times once each has its message (or gave up). */
export async function probeFirstMessage(probe: FirstMessageProbe): Promise<FirstMessageFigures> {
  const count = probe.probes ?? FIRST_MESSAGE_PROBES;
  const samplesMs = await Promise.all(Array.from({ length: count }, () => timeOne(probe)));
  const times = samplesMs.filter((ms): ms is number => ms !== null).sort((a, b) => a - b);
  return {
    medianMs: times.length === count ? round(median(times)) : null,
    samplesMs: samplesMs.map((ms) => (ms === null ? null : round(ms))),
  };
}

/** One fresh client, on its own driver instance: the time from subscribing to holding `lastId`. */
async function timeOne(probe: FirstMessageProbe): Promise<number | null> {
  let arrived!: (ms: number | null) => void;
  const result = new Promise<number | null>((resolve) => (arrived = resolve));
  const timer = setTimeout(() => arrived(null), probe.timeoutMs);
  const started = performance.now();
  let subscribers: Subscribers | undefined;
  try {
    subscribers = probe.driver.subscribe({
      technique: probe.technique,
      baseUrl: probe.baseUrl,
      clientId: probe.clientId,
      // One client per subscribe: a poller's pacing spreads several clients' first
      // requests over an interval, and a first message must not wait for its turn.
      clients: 1,
      since: probe.lastId - 1,
      epoch: probe.epoch,
      pollIntervalMs: probe.pollIntervalMs,
      clock: probe.clock,
      tracker: {
        record: (_client, message) => {
          if (message.id === probe.lastId) arrived(performance.now() - started);
        },
        gap: () => undefined,
      },
    });
    // A client that cannot connect has no first message: it gives up at once.
    subscribers.ready.catch(() => arrived(null));
    return await result;
  } finally {
    clearTimeout(timer);
    await subscribers?.stop().catch(() => undefined);
  }
}

/** The middle of sorted `values`, or the mean of the two middle ones. */
function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
