/**
 * One crowd run: one technique, one number of clients, one server (realtime-lab or the
 * bare broadcast server of bench/bare/), alone on the machine. The server starts in its
 * own process; after a warm-up its resident memory is read; N subscribers connect from
 * worker processes (bench/workers/), the time to connect them all taken; after 2 s idle
 * the memory is read again (memory per connection); then a few messages are published
 * slowly, and the fan-out delay of every delivery, the server's CPU per delivered message
 * and the clients' own CPU are measured, with every (client, id) checked exactly once.
 */
import { randomBytes } from 'node:crypto';
import type { Health } from '../../server/contract/stats.js';
import type { Technique } from '../../server/contract/techniques.js';
import { startedServerClock } from '../clock.ts';
import { DeliveryTracker, type LatencySummary, round } from '../delivery.ts';
import { paddedText, publish } from '../publisher.ts';
import type { DeliveryCounts, IdleMemory } from '../result.ts';
import { type ServerProcess, type SettledMemory, idleMemory, startServerProcess } from '../server-process.ts';
import { type ClientCpu, clientCpuBetween, clientCpuWarning, withLoopDelays } from '../workers/cpu.ts';
import { subscribeInWorkers } from '../workers/subscribe.ts';

/** Which server a crowd run measured. */
export type CrowdServer = 'realtime-lab' | 'bare';
export const CROWD_SERVERS: readonly CrowdServer[] = ['realtime-lab', 'bare'];

/** The bare broadcast server's entry, as startServerProcess runs it. */
const BARE_SCRIPT = 'bench/bare/main.ts';
/** How long the clients stay connected and idle before the memory is read, ms. */
export const IDLE_MS = 2000;
/** How long the last deliveries may take after the last publish, ms. */
const DRAIN_MS = 30_000;
/** Connections beyond the subscribers: the publisher, the clock, stats and health requests. */
const CONNECTIONS_MARGIN = 64;
/** How long every client may take to connect, ms. */
const CONNECT_TIMEOUT_MS = 180_000;

export interface CrowdPlan {
  technique: Technique;
  server: CrowdServer;
  clients: number;
  workers: number;
  /** Messages published, at `rate` per second. */
  messages: number;
  rate: number;
  payloadBytes: number;
  /** How long the clients stay connected and idle before the memory is read, ms. */
  idleMs: number;
}

/** One crowd run, as results.json holds it (`crowd.runs[]`). */
export interface CrowdRun extends DeliveryCounts {
  technique: string;
  server: CrowdServer;
  clients: number;
  workers: number;
  /** From every worker up to every client connected (and, for held requests, held by the server), ms. */
  connectMs: number;
  /** Fan-out delay of every delivery: the server accepting the message to a client parsing it, ms. */
  latencyMs: LatencySummary | null;
  /** Server memory per client: after the warm-up, and with every client connected and idle, garbage collected first. */
  memory: IdleMemory;
  /** Server CPU over the publishing phase (first publish to last delivery), and per delivered message, µs. */
  cpu: { publishPhaseMs: number; serverCpuMs: number; serverCpuPercent: number; perDeliveredMessageUs: number | null };
  /** The client workers' CPU over the same phase: the sign that the bench itself was the bottleneck. */
  clientCpu: ClientCpu;
  subscriberErrors: number;
  reconnects: number;
  warnings: string[];
}

/** Runs one plan; `note` gets progress lines. Every process it starts is stopped, whatever happens. */
export async function runCrowd(plan: CrowdPlan, note: (line: string) => void = () => undefined): Promise<CrowdRun> {
  const { clients } = plan;
  const cap = String(clients + CONNECTIONS_MARGIN);
  const server =
    plan.server === 'bare'
      ? await startServerProcess({}, BARE_SCRIPT, { inspectable: true, compiled: true })
      : await startServerProcess({ MAX_CONNECTIONS_PER_ADDRESS: cap, MAX_CONNECTIONS_PER_TECHNIQUE: cap }, undefined, {
          inspectable: true,
          compiled: true,
        });
  try {
    return await measure(plan, server, note);
  } finally {
    await server.stop();
  }
}

/** The server's settled memory, or a clear error where it cannot be read. */
async function settledMemoryOf(server: ServerProcess): Promise<SettledMemory> {
  const memory = await server.settledMemory();
  if (!memory)
    throw new Error("the server's memory could not be read: the crowd needs Linux's /proc and Node's inspector");
  return memory;
}

async function measure(plan: CrowdPlan, server: ServerProcess, note: (line: string) => void): Promise<CrowdRun> {
  const { technique, clients } = plan;
  const author = `bench-crowd-${randomBytes(4).toString('hex')}`;
  const text = paddedText(plan.payloadBytes, author);
  const warnings: string[] = [];
  const label = `${technique.id} on ${plan.server}, ${clients} clients`;

  // Warm-up: the publish path, the clock, and the code of the technique's first answer
  // (one message published, so the feed's structures exist), then the baseline memory.
  await publish({ baseUrl: server.baseUrl, rate: 10, count: 1, author: `${author}-warmup`, text });
  const clock = await startedServerClock(server.baseUrl);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const memoryBefore = await settledMemoryOf(server);
  const health = (await (await fetch(`${server.baseUrl}/api/health`)).json()) as Health;

  note(`${label}: connecting`);
  const tracker = new DeliveryTracker(author, clients);
  const subscribers = subscribeInWorkers(
    {
      techniqueId: technique.id,
      workers: plan.workers,
      baseUrl: server.baseUrl,
      clientId: author,
      clients,
      since: health.lastId,
      epoch: health.epoch,
      pollIntervalMs: 1000,
      clockOffsetMs: clock.offsetMs,
    },
    tracker,
  );
  let report: Awaited<ReturnType<typeof subscribers.stop>> | undefined;
  try {
    await withTimeout(subscribers.ready, CONNECT_TIMEOUT_MS, `${label}: not every client connected`);
    const connectMs = subscribers.connectMs() ?? Number.NaN;
    note(`${label}: connected in ${(connectMs / 1000).toFixed(1)} s; idle ${plan.idleMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, plan.idleMs));
    const memoryConnected = await settledMemoryOf(server);

    note(`${label}: publishing ${plan.messages} at ${plan.rate}/s`);
    const cpuBefore = server.figures()?.cpuMs ?? 0;
    const clientsBefore = subscribers.clientCpu();
    subscribers.markPhase();
    const phaseStart = performance.now();
    const published = await publish({ baseUrl: server.baseUrl, rate: plan.rate, count: plan.messages, author, text });
    const ids = published.ids;
    const deadline = performance.now() + DRAIN_MS;
    while (performance.now() < deadline) {
      if (tracker.delivered >= ids.length * clients && tracker.hasAll(ids)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const phaseMs = performance.now() - phaseStart;
    const serverCpuMs = (server.figures()?.cpuMs ?? 0) - cpuBefore;
    const cpuOnly = clientCpuBetween(clientsBefore, subscribers.clientCpu(), phaseMs);
    report = await subscribers.stop();
    const clientCpu = withLoopDelays(cpuOnly, subscribers.loopDelays());

    const delivery = tracker.figures();
    const expected = ids.length * clients;
    const lost = expected - delivery.messagesDelivered;
    if (ids.length < plan.messages) warnings.push(`${label}: ${plan.messages - ids.length} publishes failed`);
    if (lost > 0 || delivery.duplicates > 0)
      warnings.push(`${label}: ${lost} deliveries lost, ${delivery.duplicates} duplicated`);
    if (report.errors > 0) warnings.push(`${label}: ${report.errors} subscriber errors`);
    const busy = clientCpuWarning(clientCpu, label);
    if (busy) warnings.push(busy);
    return {
      technique: technique.id,
      server: plan.server,
      clients,
      workers: clientCpu.workers.length,
      connectMs: round(connectMs),
      messagesPublished: ids.length,
      messagesExpected: expected,
      messagesDelivered: delivery.messagesDelivered,
      lost,
      duplicates: delivery.duplicates,
      outOfOrder: delivery.outOfOrder,
      latencyMs: delivery.latencyMs,
      memory: idleMemory(memoryBefore, memoryConnected, clients),
      cpu: {
        publishPhaseMs: Math.round(phaseMs),
        serverCpuMs: round(serverCpuMs),
        serverCpuPercent: round((serverCpuMs / phaseMs) * 100),
        perDeliveredMessageUs:
          delivery.messagesDelivered > 0 ? round((serverCpuMs * 1000) / delivery.messagesDelivered) : null,
      },
      clientCpu,
      subscriberErrors: report.errors,
      reconnects: report.reconnects,
      warnings,
    };
  } finally {
    if (!report) await subscribers.stop().catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
