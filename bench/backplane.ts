/**
 * What one Redis sustains as the feed's backplane: publishes through the Redis feed itself
 * (the Lua INCR + XADD, and the node's blocking XREAD bringing each message back), as fast
 * as a fixed number of concurrent publishers can go, for a few seconds. No HTTP: this is
 * the ceiling Redis and one node's reader put on the feed, not what a server's HTTP
 * stack adds on top (the runs measure that).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisFeed, redact } from '../server/redis-feed.ts';
import { REDIS_SERVER_BIN } from '../server/redis-process.ts';
import { round, summarize, type LatencySummary } from './delivery.ts';
import { procFigures } from './server-process.ts';
import { paddedText } from './publisher.ts';

/** How long the probe publishes, ms. */
export const BACKPLANE_PROBE_MS = 3000;
/** Publishes in flight at once. */
const CONCURRENCY = 32;

export interface BackplaneFigures {
  redis: string;
  durationMs: number;
  concurrency: number;
  payloadBytes: number;
  publishes: number;
  /** Publishes per second, each one confirmed and read back by the node. */
  publishesPerSecond: number;
  /** From the call to its return: the script's round trip plus the reader bringing the message back. */
  publishLatencyMs: LatencySummary | null;
  /** The bench process (the one node here) over the probe, % of one core. */
  nodeCpuPercent: number;
  /** redis-server over the probe, % of one core; null when it is not the bench's own. */
  redisCpuPercent: number | null;
}

/** Publishes through a RedisFeed on `url` for BACKPLANE_PROBE_MS; `redisPid` lets it read Redis's CPU time. */
export async function measureBackplane(url: string, payloadBytes: number, redisPid?: number): Promise<BackplaneFigures> {
  const prefix = `bench-probe-${randomBytes(4).toString('hex')}`;
  const feed = await RedisFeed.open({ url, historySize: 1000, keyPrefix: prefix, log: () => {} });
  const text = paddedText(payloadBytes, 'probe');
  const latencies: number[] = [];
  const redisStart = redisPid ? procFigures(redisPid) : null;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const deadline = started + BACKPLANE_PROBE_MS;
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const sent = performance.now();
          await feed.publish({ author: 'probe', text });
          latencies.push(performance.now() - sent);
        }
      }),
    );
  } finally {
    await feed.close();
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await admin.del(`{${prefix}}:last-id`, `{${prefix}}:messages`).catch(() => undefined);
    admin.disconnect();
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const redisEnd = redisPid ? procFigures(redisPid) : null;
  return {
    redis: redact(url),
    durationMs: round(elapsed),
    concurrency: CONCURRENCY,
    payloadBytes,
    publishes: latencies.length,
    publishesPerSecond: round((latencies.length * 1000) / elapsed),
    publishLatencyMs: summarize(Float64Array.from(latencies)),
    nodeCpuPercent: round(((cpu.user + cpu.system) / 1000 / elapsed) * 100),
    redisCpuPercent: redisStart && redisEnd ? round(((redisEnd.cpuMs - redisStart.cpuMs) / elapsed) * 100) : null,
  };
}

/** `redis-server 7.0.15`, or a plain name when the binary cannot say. */
export function redisVersion(): string {
  try {
    const output = execFileSync(REDIS_SERVER_BIN, ['--version'], { encoding: 'utf8' });
    return `redis-server ${/v=(\S+)/.exec(output)?.[1] ?? ''}`.trim();
  } catch {
    return 'redis-server';
  }
}
