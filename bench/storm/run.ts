/**
 * One reconnect storm: N subscribers of a technique on a server whose feed is in Redis;
 * the server's process is killed (no goodbye: every socket cut at once) and a new one
 * started on the same port, while a second node on the same Redis keeps publishing. The
 * subscribers reconnect with the contract's backoff, with or without its jitter; the run
 * measures the new server's requests per second, the time until each client holds the
 * first message published after the kill, and every message owed to every client.
 */
import type { Health, ServerStats } from '../../server/contract/stats.js';
import { startedServerClock } from '../clock.ts';
import { DeliveryTracker, type DeliverySink } from '../delivery.ts';
import type { SubscribeContext, Subscribers } from '../drivers/driver.ts';
import type { BenchTechnique } from '../drivers/index.ts';
import { procFigures, startServerProcess } from '../server-process.ts';
import { type StormTrial, caughtUpSeries, percentile, ratesOf } from './figures.ts';
import { sampleStats } from './stats-sampler.ts';
import { type WorkerCpuSample, clientCpuBetween } from '../workers/cpu.ts';
import { type SteadyPublisher, steadyPublisher } from './steady-publisher.ts';

/**
 * Starts a technique's subscribers: its driver's own `subscribe`, or the same spread over
 * worker processes, which can then say how much CPU each used.
 */
export type SubscribeFn = (
  technique: BenchTechnique,
  context: SubscribeContext,
) => Subscribers & { clientCpu?(): WorkerCpuSample[] };

export interface TrialOptions {
  technique: BenchTechnique;
  jitter: boolean;
  clients: number;
  /** The port every server of the technique's storm listens on, before and after the restart. */
  port: number;
  redisUrl: string;
  /** The node that stays up, on the same Redis: the publisher sends there. */
  publisherUrl: string;
  rate: number;
  payloadBytes: number;
  /** Publishing before the kill, ms. */
  beforeMs: number;
  /** Publishing after every client caught up, ms. */
  afterMs: number;
  /** The most the run waits from the kill for every client to catch up, and then for every message, ms. */
  deadlineMs: number;
  subscribe: SubscribeFn;
  onProgress: (line: string) => void;
}

/** How often the restarted server's counters are read, ms. */
const SAMPLE_EVERY_MS = 100;
/** How long the rest of the messages are waited for when some client never caught up (it will not get them either), ms. */
const LEFT_BEHIND_WAIT_MS = 5000;
/** The caught-up curve's step, ms. */
const CURVE_STEP_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, deadline: number, onTick: () => void = () => undefined) {
  let lastTick = performance.now();
  while (!condition() && performance.now() < deadline) {
    await sleep(50);
    if (performance.now() - lastTick >= 1000) {
      lastTick = performance.now();
      onTick();
    }
  }
  return condition();
}

export async function runTrial(options: TrialOptions): Promise<StormTrial> {
  const { technique, clients } = options;
  const env = {
    PORT: String(options.port),
    FEED: options.redisUrl,
    // Every client is 127.0.0.1, and all of them come back at once: no cap may refuse them.
    MAX_CONNECTIONS_PER_ADDRESS: '0',
    MAX_CONNECTIONS_PER_TECHNIQUE: String(clients * 2 + 16),
  };
  const author = `bench-storm-${process.pid}`;
  const label = `${technique.id}, ${options.jitter ? 'jitter' : 'no jitter'}`;
  let server = await startServerProcess(env);
  let subscribers: ReturnType<SubscribeFn> | undefined;
  let publisher: SteadyPublisher | undefined;
  try {
    const health = (await (await fetch(`${server.baseUrl}/api/health`)).json()) as Health;
    // A server on its own memory would lose the feed with its process: the storm would measure nothing.
    if (health.feed === 'memory') throw new Error('the storm needs a server on a Redis feed; it answered feed memory');
    const clock = await startedServerClock(server.baseUrl);
    const tracker = new DeliveryTracker(author, clients);
    // Each client's catch-up time, on the server's clock: its receipt of the marker (the
    // first message published after the kill) minus the kill. NaN: not yet.
    const caughtAt = new Float64Array(clients).fill(Number.NaN);
    let caught = 0;
    let marker = -1;
    let killedAtServerMs = 0;
    const sink: DeliverySink = {
      record(client, message, delayMs, payloadBytes) {
        tracker.record(client, message, delayMs, payloadBytes);
        if (message.id === marker && message.author === author && Number.isNaN(caughtAt[client])) {
          caughtAt[client] = message.ts + delayMs - killedAtServerMs;
          caught += 1;
        }
      },
      gap: (client, missed) => tracker.gap(client, missed),
    };
    options.onProgress(`${label}: connecting ${clients} clients`);
    subscribers = options.subscribe(technique, {
      technique,
      baseUrl: server.baseUrl,
      clientId: author,
      clients,
      since: health.lastId,
      epoch: health.epoch,
      pollIntervalMs: 1000,
      tracker: sink,
      clock,
      reconnectJitter: options.jitter,
    });
    // Said every few seconds while they connect: thousands take a while on a busy machine.
    const connecting = setInterval(() => {
      fetch(`${server.baseUrl}/api/stats`)
        .then((response) => response.json() as Promise<ServerStats>)
        .then((stats) =>
          options.onProgress(
            `${label}: ${stats.techniques[technique.id]?.activeRequests ?? 0} of ${clients} connected`,
          ),
        )
        .catch(() => undefined);
    }, 3000);
    try {
      await subscribers.ready;
    } finally {
      clearInterval(connecting);
    }
    // Publishing starts once every client is connected: fanning messages out to thousands
    // while thousands more connect slowed the server's accepts until its queue overflowed.
    publisher = steadyPublisher({
      baseUrl: options.publisherUrl,
      rate: options.rate,
      author,
      payloadBytes: options.payloadBytes,
    });
    options.onProgress(`${label}: ${clients} connected; publishing ${options.beforeMs} ms, then killing the server`);
    await sleep(options.beforeMs);

    // The kill: SIGKILL, so no client is told (no `end` event, no close frame) and every
    // socket breaks at once, as in a crash or a lost machine.
    process.kill(server.pid, 'SIGKILL');
    await server.stop();
    const killedAt = performance.now();
    killedAtServerMs = clock.now();
    const sinceKill = () => performance.now() - killedAt;
    const clientCpuAtKill = subscribers.clientCpu?.();
    // Published through the node that stays up while no subscriber is connected: nobody
    // can hold it before reconnecting, so its receipt is the moment a client caught up.
    marker = await publisher.publishNow();
    server = await startServerProcess(env);
    const serverDownMs = sinceKill();
    const cpuAtStart = procFigures(server.pid);
    const sampler = sampleStats({
      baseUrl: server.baseUrl,
      technique: technique.id,
      everyMs: SAMPLE_EVERY_MS,
      now: sinceKill,
    });
    options.onProgress(`${label}: killed; the new server serves after ${Math.round(serverDownMs)} ms`);
    const deadline = killedAt + options.deadlineMs;
    await until(
      () => caught === clients,
      deadline,
      () => {
        const held = sampler.latest();
        options.onProgress(
          `${label}: ${caught} / ${clients} caught up, ${(sinceKill() / 1000).toFixed(1)} s${held ? `; the server holds ${held.held}, has seen ${held.requests} requests` : ''}`,
        );
      },
    );
    const allCaughtAt = sinceKill();
    const cpuAtEnd = procFigures(server.pid);
    const clientCpuAtEnd = subscribers.clientCpu?.();
    const { samples, failed: readingsFailed } = await sampler.stop();
    await sleep(options.afterMs);
    const published = await publisher.stop();
    const ids = published.map((p) => p.id);
    // The count first: checking every (client, id) of 10,000 clients 20 times a second would
    // take the bench's CPU from its clients. The count can only reach it when all are there.
    await until(
      () => tracker.delivered >= ids.length * clients && tracker.hasAll(ids),
      performance.now() + (caught === clients ? options.deadlineMs : LEFT_BEHIND_WAIT_MS),
    );
    const report = await subscribers.stop();
    subscribers = undefined;

    const figures = tracker.figures();
    const times = [...caughtAt].filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
    const rates = ratesOf(samples, serverDownMs);
    const peak = rates.reduce((best, p) => (p.perSecond > best.perSecond ? p : best), { atMs: 0, perSecond: 0 });
    const lastSample = samples[samples.length - 1];
    const expected = published.length * clients;
    // Sending times and the kill are both this process's performance.now().
    const phase = (sentAt: number) =>
      sentAt < killedAt ? 'before' : sentAt < killedAt + allCaughtAt ? 'during' : 'after';
    const spanMs = allCaughtAt - serverDownMs;
    return {
      technique: technique.id,
      jitter: options.jitter,
      clients,
      serverDownMs: Math.round(serverDownMs),
      windowMs: Math.round(allCaughtAt),
      connections: {
        source: 'server',
        sampleEveryMs: SAMPLE_EVERY_MS,
        peakPerSecond: Math.round(peak.perSecond),
        peakAtMs: Math.round(peak.atMs),
        requestsSeen: lastSample?.requests ?? 0,
        readingsFailed,
        series: rates,
      },
      refused: report.errors,
      reconnectAttempts: report.reconnects,
      retries: Math.max(0, report.reconnects - clients),
      caughtUp: {
        clients: times.length,
        minMs: percentile(times, 0),
        p50Ms: percentile(times, 50),
        p90Ms: percentile(times, 90),
        maxMs: percentile(times, 100),
        series: caughtUpSeries(times, CURVE_STEP_MS),
      },
      messages: {
        publishedBefore: published.filter((p) => phase(p.sentAt) === 'before').length,
        publishedDuring: published.filter((p) => phase(p.sentAt) === 'during').length,
        publishedAfter: published.filter((p) => phase(p.sentAt) === 'after').length,
        expected,
        delivered: figures.messagesDelivered,
        lost: Math.max(0, expected - figures.messagesDelivered),
        duplicates: figures.duplicates,
        outOfOrder: figures.outOfOrder,
        gapsReported: figures.gapsReported,
      },
      clientCpu:
        clientCpuAtKill && clientCpuAtEnd ? clientCpuBetween(clientCpuAtKill, clientCpuAtEnd, allCaughtAt) : null,
      server:
        cpuAtStart && cpuAtEnd
          ? {
              cpuMs: Math.round(cpuAtEnd.cpuMs - cpuAtStart.cpuMs),
              cpuPercent: spanMs > 0 ? Math.round(((cpuAtEnd.cpuMs - cpuAtStart.cpuMs) / spanMs) * 1000) / 10 : 0,
              maxRssBytes: cpuAtEnd.maxRssBytes,
            }
          : null,
    };
  } finally {
    await subscribers?.stop().catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await server.stop();
  }
}
