/**
 * `npm run bench -- --storm`: each technique's reconnect storm, once with the contract's
 * jittered backoff and once without, on a private Redis with a publishing node that stays
 * up, into the usual results.json (`techniques` empty, `storm` set).
 */
import { autocannonVersion } from '../engine.ts';
import { drivers } from '../drivers/index.ts';
import { machineAtStart, ownServersConfig } from '../machine.ts';
import type { BenchOptions } from '../options.ts';
import { startRedis, freePort } from '../redis-process.ts';
import { type BenchResult, SCHEMA_VERSION } from '../result.ts';
import { startServerProcess } from '../server-process.ts';
import type { StormResult, StormTrial } from './figures.ts';
import { type SubscribeFn, runTrial } from './run.ts';
import { subscribeInWorkers } from '../workers/subscribe.ts';
import { clientCpuWarning } from '../workers/cpu.ts';

/** Publishing before the kill and after every client caught up, ms. */
const BEFORE_MS = 1500;
const AFTER_MS = 1000;
/**
 * The most a storm may take to catch every client up (and then to deliver the rest), ms:
 * past the kernel's own give-up on a half-open connection (tcp_synack_retries 5: about
 * 63 s), which is when the last clients of a storm that overflowed the accept queue get
 * their reset and come back.
 */
export const STORM_DEADLINE_MS = 75_000;

/** Clients per worker process: each worker's sockets, parsing and timers stay well under a core. */
export const STORM_CLIENTS_PER_WORKER = 2500;

/** The workers a storm of `clients` spreads them over: at least two, so the spread itself is always exercised. */
export function stormWorkers(clients: number): number {
  return Math.max(2, Math.ceil(clients / STORM_CLIENTS_PER_WORKER));
}

/** The subscribers, each technique's own driver, spread over `workers` processes. */
function inWorkers(workers: number): SubscribeFn {
  return (technique, { technique: _technique, tracker, clock, ...context }) =>
    subscribeInWorkers({ ...context, techniqueId: technique.id, workers, clockOffsetMs: clock.offsetMs }, tracker);
}

/** What a storm run lost: a sentence per trial that lost, repeated or gapped a message, or left a client behind; null when none. */
export function stormFailure(storm: StormResult): string | null {
  const failures = storm.trials.flatMap((t) => {
    const m = t.messages;
    const said: string[] = [];
    if (m.lost > 0) said.push(`${m.lost} lost`);
    if (m.duplicates > 0) said.push(`${m.duplicates} duplicated`);
    if (m.gapsReported > 0) said.push(`${m.gapsReported} reported missed (gap)`);
    if (t.caughtUp.clients < t.clients) said.push(`${t.clients - t.caughtUp.clients} clients never caught up`);
    return said.length === 0 ? [] : [`${t.technique} (${t.jitter ? 'jitter' : 'no jitter'}): ${said.join(', ')}`];
  });
  return failures.length === 0 ? null : failures.join('; ');
}

export async function runStormBench(
  options: BenchOptions,
  onProgress: (line: string) => void = () => undefined,
): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const start = machineAtStart();
  const clients = options.clients[0] as number;
  const workers = stormWorkers(clients);
  const subscribe = inWorkers(workers);
  const chosen = drivers.filter((d) => options.techniques.includes(d.id));
  const redis = await startRedis();
  // The server processes die with the bench (server-process.ts); the Redis too.
  const killRedis = () => {
    if (redis.pid !== undefined) process.kill(redis.pid, 'SIGKILL');
  };
  process.once('exit', killRedis);
  const trials: StormTrial[] = [];
  try {
    // The publisher's node: on the same Redis, never restarted, so publishing goes on
    // while the subscribers' server is down.
    const publisherNode = await startServerProcess({ FEED: redis.url });
    try {
      for (const technique of chosen) {
        const port = await freePort();
        for (const jitter of [true, false]) {
          trials.push(
            await runTrial({
              technique,
              jitter,
              clients,
              port,
              redisUrl: redis.url,
              publisherUrl: publisherNode.baseUrl,
              rate: options.rate,
              payloadBytes: options.payloadBytes,
              beforeMs: BEFORE_MS,
              afterMs: AFTER_MS,
              deadlineMs: STORM_DEADLINE_MS,
              subscribe,
              onProgress,
            }),
          );
        }
      }
    } finally {
      await publisherNode.stop();
    }
  } finally {
    process.off('exit', killRedis);
    await redis.dispose();
  }
  const storm: StormResult = { clients, rate: options.rate, workers, deadlineMs: STORM_DEADLINE_MS, trials };
  const warnings: string[] = [];
  const busy = start.busyWarning('connection rates and catch-up times');
  if (busy) warnings.push(busy);
  for (const trial of trials) {
    const busyClients = trial.clientCpu
      ? clientCpuWarning(
          trial.clientCpu,
          `${trial.technique} (${trial.jitter ? 'jitter' : 'no jitter'}), from the kill until every client caught up`,
        )
      : null;
    if (busyClients) warnings.push(busyClients);
    if (trial.connections.readingsFailed > 0)
      warnings.push(
        `${trial.technique} (${trial.jitter ? 'jitter' : 'no jitter'}): the restarted server did not answer ${trial.connections.readingsFailed} of its /api/stats readings in time, so the request series has holes there`,
      );
  }
  const failure = stormFailure(storm);
  if (failure) warnings.push(`the storm broke a guarantee: ${failure}`);
  return {
    schemaVersion: SCHEMA_VERSION,
    // Its servers share a private Redis: the subscribers' node, restarted, and the publisher's.
    config: {
      ...ownServersConfig(options, { scenario: 'storm', techniques: options.techniques, clients }),
      feeds: ['redis'],
      nodes: 2,
    },
    environment: {
      ...start.machine,
      autocannon: autocannonVersion(),
      server:
        'per technique and backoff, one server process killed with SIGKILL and restarted on the same port, beside a publishing node that stays up, both on a private Redis, on 127.0.0.1',
      redis: 'a private redis-server the bench started',
      startedAt,
      finishedAt: new Date().toISOString(),
    },
    techniques: [],
    backplane: null,
    storm,
    warnings,
  };
}
