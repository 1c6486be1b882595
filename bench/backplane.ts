/**
 * What one Redis sustains as the feed's backplane: publishes through the Redis feed itself
 * (the Lua INCR + XADD, and the node's blocking XREAD bringing each message back), as fast
 * as a fixed number of concurrent publishers can go, for a few seconds. No HTTP: this is
 * the ceiling Redis and one node's reader put on the feed, not what a server's HTTP
 * stack adds on top (the runs measure that).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { PUBLISH_SCRIPT, RedisFeed, feedKeys, redact } from '../server/redis-feed.ts';
import { REDIS_SERVER_BIN } from './redis-process.ts';
import { round, summarize, type LatencySummary } from './delivery.ts';
import { procFigures } from './server-process.ts';
import { paddedText } from './publisher.ts';

/** How long the probe publishes, ms. */
export const BACKPLANE_PROBE_MS = 3000;
/** Publishes in flight at once. */
const CONCURRENCY = 32;
/** The script-only ceiling: redis-benchmark's requests, connections and pipeline depth. */
const CEILING_REQUESTS = 200_000;
const CEILING_CONNECTIONS = 16;
const CEILING_PIPELINE = 16;

/** The publish script alone, driven by redis-benchmark: what Redis itself can take. */
export interface ScriptCeiling {
  tool: string;
  requests: number;
  connections: number;
  pipeline: number;
  publishesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

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
  /**
   * The same script with no Node in the way: redis-benchmark (Redis's own C client, from
   * Debian's redis-tools) pipelining it. Null when redis-benchmark is not installed.
   */
  scriptCeiling: ScriptCeiling | null;
}

/** Publishes through a RedisFeed on `url` for BACKPLANE_PROBE_MS; `redisPid` lets it read Redis's CPU time. */
export async function measureBackplane(
  url: string,
  payloadBytes: number,
  redisPid?: number,
): Promise<BackplaneFigures> {
  const prefix = `bench-probe-${randomBytes(4).toString('hex')}`;
  const keys = feedKeys(prefix);
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
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const redisEnd = redisPid ? procFigures(redisPid) : null;
  const admin = new Redis(url, { maxRetriesPerRequest: 0 });
  let scriptCeiling: ScriptCeiling | null = null;
  try {
    scriptCeiling = await measureScriptCeiling(admin, url, keys, text);
  } finally {
    await admin.del(keys.counter, keys.stream, keys.epoch).catch(() => undefined);
    admin.disconnect();
  }
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
    scriptCeiling,
  };
}

/**
 * Runs the feed's publish script (EVALSHA, as ioredis sends it) through redis-benchmark
 * on the same keys; null when redis-benchmark is not installed.
 */
async function measureScriptCeiling(
  admin: Redis,
  url: string,
  keys: ReturnType<typeof feedKeys>,
  text: string,
): Promise<ScriptCeiling | null> {
  const tool = process.env.REDIS_BENCHMARK || 'redis-benchmark';
  const sha = String(await admin.script('LOAD', PUBLISH_SCRIPT));
  const target = new URL(url);
  const args = ['-h', target.hostname || '127.0.0.1', '-p', target.port || '6379'];
  if (target.password) args.push('-a', decodeURIComponent(target.password));
  if (target.username) args.push('--user', decodeURIComponent(target.username));
  const db = /^\/(\d+)$/.exec(target.pathname)?.[1];
  if (db) args.push('--dbnum', db);
  args.push(
    '-n',
    String(CEILING_REQUESTS),
    '-c',
    String(CEILING_CONNECTIONS),
    '-P',
    String(CEILING_PIPELINE),
    '-q',
    '--csv',
  );
  // The deadline argument is on Redis's clock: far in the future, so every run stores.
  args.push(
    'EVALSHA',
    sha,
    '3',
    keys.counter,
    keys.stream,
    keys.epoch,
    '1000',
    '1796149891620.837',
    'probe',
    text,
    String(Number.MAX_SAFE_INTEGER),
    'probe0',
  );
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(tool, args, { timeout: 60_000, maxBuffer: 1024 * 1024 }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const row =
    stdout
      .trim()
      .split('\n')
      .at(-1)
      ?.match(/"([^"]*)"/g)
      ?.map((cell) => cell.slice(1, -1)) ?? [];
  const [rps, p50, p99] = [Number(row[1]), Number(row[4]), Number(row[6])];
  if (!Number.isFinite(rps) || rps <= 0) throw new Error(`${tool} printed no figures: ${stdout.slice(0, 300)}`);
  return {
    tool: redisVersion().replace('redis-server', 'redis-benchmark'),
    requests: CEILING_REQUESTS,
    connections: CEILING_CONNECTIONS,
    pipeline: CEILING_PIPELINE,
    publishesPerSecond: rps,
    p50Ms: p50,
    p99Ms: p99,
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
