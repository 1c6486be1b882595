/**
 * The bench engine: for each client count and each technique, a fresh server (unless
 * `--url`), N real subscribers, a steady publisher, a drain until every message is in (or
 * a deadline), then the figures: from the subscribers (delivery and delay), from the
 * server's per-client wire accounting (requests and bytes), from /proc (server CPU and
 * memory). It reports what it is doing as events and renders nothing itself (the CLI and
 * the reports do).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { calibrate, startedServerClock } from './clock.ts';
import { FaultProxy } from './fault-proxy.ts';
import { type RunNetwork, runNetworks } from './network/options.ts';
import { shapeAll } from './network/run.ts';
import { DeliveryTracker, round } from './delivery.ts';
import type { Health, ServerStats, WireCounters } from '../server/contract/stats.js';
import { agrees as agreesWithModel } from '../server/contract/models.js';
import { type ModelInput, type SubscriberReport, type Subscribers, fetchClientStats } from './drivers/driver.ts';
import { type BenchTechnique, drivers } from './drivers/index.ts';
import type { BenchOptions } from './options.ts';
import { paddedText, publish, publisherConnections } from './publisher.ts';
import { type BenchResult, SCHEMA_VERSION, type TechniqueResult, type TheoryCheck } from './result.ts';
import { type ProcessFigures, type ServerProcess, startServerProcess } from './server-process.ts';
import { type BackplaneFigures, BACKPLANE_PROBE_MS, measureBackplane, redisVersion } from './backplane.ts';
import { type RedisProcess, startRedis } from './redis-process.ts';
import { redact } from '../server/redis-feed.ts';
import { BROWSER_CONNECTIONS_PER_CLIENT } from './browser/capacity.ts';
import { BrowserClients } from './browser/clients.ts';
import type { ClientKind } from './options.ts';
import {
  DIRECT,
  type IntermediarySpec,
  type RunningIntermediary,
  startIntermediary,
} from './network/intermediaries.ts';
import { FirstDelays, intermediaryEntry, judge } from './network/verdict.ts';
import { type FirstMessageFigures, probeFirstMessage } from './network/first-message.ts';
import { type WsVariant, serverEnvFor } from './ws-variants.ts';
import { machineAtStart } from './machine.ts';

/** How long subscribers may take to connect, ms. */
const CONNECT_TIMEOUT_MS = 60_000;
/** After the last publish, how long to wait for stragglers at least, ms. */
const MIN_DRAIN_MS = 2000;
/** Bench CPU above this share of one core, or event-loop delay above this, taints the figures. */
const SATURATED_CPU_PERCENT = 85;
const SATURATED_LOOP_DELAY_MS = 50;
/** How often the server's resident memory is sampled for its peak, ms. */
const RSS_SAMPLE_EVERY_MS = 100;
/** With --chaos: one subscriber connection is cut this often while publishing, ms. */
const CHAOS_CUT_EVERY_MS = 500;
/** With --chaos: how long the drain may wait for clients still backing off, ms. */
const CHAOS_DRAIN_MS = 20_000;
/** Connections the bench opens to a server besides its subscribers and publisher: its health, stats and clock requests. */
const OWN_CONNECTIONS = 4;
/** With --chaos, connections the fault proxy may open again while the ones it cut are still closing. */
const CHAOS_CONNECTIONS = 16;
/** What the per-address cap of the bench's own servers allows beyond what a run needs: room, not a loophole. */
const CONNECTIONS_MARGIN = 16;
/** How long a first-message probe may wait on loopback, ms; each added round trip allows several more. */
const FIRST_MESSAGE_TIMEOUT_MS = 2000;
const FIRST_MESSAGE_TIMEOUT_TRIPS = 6;
/** How often progress events are emitted, ms. */
const PROGRESS_EVERY_MS = 500;
/** How often the event-loop monitor samples, ms; each sample holds this much plus the delay. */
const LOOP_MONITOR_RESOLUTION_MS = 10;

export type BenchEvent =
  | { type: 'phase'; index: number; total: number; technique: string; clients: number; step: string }
  | {
      type: 'progress';
      technique: string;
      clients: number;
      elapsedMs: number;
      durationMs: number;
      published: number;
      delivered: number;
      expected: number;
    }
  | { type: 'done'; result: TechniqueResult };

export interface BenchEvents {
  emit(event: 'event', payload: BenchEvent): boolean;
}

/** Runs the whole bench; progress goes to `events` as `'event'`s. */
export async function runBench(options: BenchOptions, events: BenchEvents = new EventEmitter()): Promise<BenchResult> {
  if (options.url)
    await checkServer(options.url, connectionsNeeded(Math.max(...options.clients), options, options.clientKinds));
  const startedAt = new Date().toISOString();
  const start = machineAtStart();
  const selected = options.techniques.map((id) => drivers.find((d) => d.id === id) as BenchTechnique);
  // Feeds outermost, so a chart can set each technique's figures on one feed beside another's.
  // With --intermediary, each technique runs direct first: the baseline its other runs are judged by.
  const intermediaries: (IntermediarySpec | null)[] =
    options.intermediaries.length > 0 ? [DIRECT, ...options.intermediaries] : [null];
  // Round trips, then client kinds, then intermediaries, innermost: a sweep chart reads each
  // client count's techniques across round trips, a technique's Node and browser runs
  // follow each other, on as alike a machine as a shared one gets, and each technique's
  // direct run comes right before the runs behind intermediaries it is the baseline of.
  const runs = options.feeds.flatMap((feed) =>
    options.clients.flatMap((clients) =>
      runNetworks(options.network).flatMap((network) =>
        selected.flatMap((driver) =>
          options.clientKinds.flatMap((kind) =>
            variantsOf(driver, kind, options).flatMap((wsVariant) =>
              intermediaries.map((intermediary) => ({ driver, clients, feed, network, kind, intermediary, wsVariant })),
            ),
          ),
        ),
      ),
    ),
  );
  const results: TechniqueResult[] = [];
  // `--feed redis`: one private redis-server for the whole bench, each run on keys of its own.
  const privateRedis = !options.url && options.feeds.includes('redis') ? await startRedis() : null;
  // One Chromium for the whole bench; each run opens and closes its own pages in it.
  const browser = options.clientKinds.includes('browser') ? await BrowserClients.launch() : null;
  let backplane: BackplaneFigures | null = null;
  try {
    for (const [index, run] of runs.entries()) {
      const redisUrl =
        run.feed === 'memory' ? null : run.feed === 'redis' ? (privateRedis as RedisProcess).url : run.feed;
      results.push(
        await runOne(
          run.driver,
          run.clients,
          { name: run.feed === 'memory' ? 'memory' : 'redis', redisUrl },
          run.network,
          options,
          events,
          index,
          runs.length,
          run.kind === 'browser' ? browser : null,
          run.intermediary,
          run.wsVariant,
        ),
      );
    }
    const redisUrl = privateRedis?.url ?? options.feeds.find((feed) => feed.startsWith('redis'));
    if (redisUrl) {
      events.emit('event', {
        type: 'phase',
        index: runs.length - 1,
        total: runs.length,
        technique: 'redis',
        clients: 0,
        step: `measuring the publish rate one Redis sustains (${BACKPLANE_PROBE_MS / 1000} s)`,
      });
      backplane = await measureBackplane(redisUrl, options.payloadBytes, privateRedis?.pid);
    }
  } finally {
    await privateRedis?.dispose();
    await browser?.close();
  }
  judge(results);
  const warnings = [
    ...new Set(
      results.flatMap((r) =>
        r.warnings.map((w) => `${r.technique}${variantSuffix(r)} (${r.clients} clients${behindLabel(r)}): ${w}`),
      ),
    ),
  ];
  const busy = start.busyWarning();
  if (busy) warnings.unshift(busy);
  return {
    schemaVersion: SCHEMA_VERSION,
    config: {
      scenario: options.scenario,
      techniques: options.techniques,
      clients: options.clients.length === 1 ? (options.clients[0] as number) : options.clients,
      rate: options.rate,
      durationSec: options.durationSec,
      payloadBytes: options.payloadBytes,
      pollIntervalMs: options.pollIntervalMs,
      url: options.url,
      chaos: options.chaos,
      feeds: options.url
        ? []
        : options.feeds.map((feed) => (feed === 'memory' || feed === 'redis' ? feed : redact(feed))),
      nodes: options.nodes,
      network: options.network,
      clientKinds: options.clientKinds,
      ...(options.intermediaries.length > 0 ? { intermediaries: options.intermediaries.map((i) => i.label) } : {}),
      wsVariants: options.wsVariants,
    },
    environment: {
      ...start.machine,
      autocannon: autocannonVersion(),
      ...(browser ? { browser: browser.version } : {}),
      server: options.url
        ? `a running server at ${options.url}`
        : options.nodes > 1
          ? `${options.nodes} fresh server processes per technique on one Redis, on 127.0.0.1`
          : 'a fresh server process per technique, on 127.0.0.1',
      redis: privateRedis
        ? `a private ${redisVersion()} started by the bench`
        : options.feeds.some((f) => f.startsWith('redis'))
          ? 'the redis:// URL given'
          : null,
      startedAt,
      finishedAt: new Date().toISOString(),
    },
    techniques: results,
    backplane,
    warnings,
  };
}

/**
 * The variants a technique runs in: each of --ws-variants for one that upgrades, with
 * Node clients (whose driver can offer a subprotocol or the extension); once otherwise.
 */
function variantsOf(driver: BenchTechnique, kind: ClientKind, options: BenchOptions): (WsVariant | null)[] {
  return driver.capabilities.upgrades && kind === 'node' ? options.wsVariants : [null];
}

/** ` [msgpack]` for a run in a WebSocket variant other than plain JSON; nothing otherwise. */
function variantSuffix(r: TechniqueResult): string {
  return r.wsVariant && r.wsVariant !== 'json' ? ` [${r.wsVariant}]` : '';
}

/** `, behind buffering` for a run behind an intermediary; nothing otherwise. */
function behindLabel(r: TechniqueResult): string {
  const name = r.intermediary?.name;
  return name && name !== 'none' ? `, behind ${name}` : '';
}

/** The feed of one run's servers: in memory, or on the Redis at `redisUrl`. */
interface RunFeed {
  name: 'memory' | 'redis';
  redisUrl: string | null;
}

async function runOne(
  driver: BenchTechnique,
  clients: number,
  feed: RunFeed,
  network: RunNetwork | null,
  options: BenchOptions,
  events: BenchEvents,
  index: number,
  total: number,
  browser: BrowserClients | null,
  intermediary: IntermediarySpec | null = null,
  wsVariant: WsVariant | null = null,
): Promise<TechniqueResult> {
  const technique = driver.id;
  const behind = `${wsVariant && wsVariant !== 'json' ? ` [${wsVariant}]` : ''}${intermediary && intermediary !== DIRECT ? ` (behind ${intermediary.label})` : ''}`;
  const phase = (step: string) =>
    events.emit('event', { type: 'phase', index, total, technique, clients, step: `${step}${behind}` });
  const nodeCount = feed.redisUrl && !options.url ? options.nodes : 1;
  phase(
    nodeCount > 1
      ? `starting ${nodeCount} server nodes on one Redis`
      : feed.redisUrl
        ? 'starting the server on Redis'
        : 'starting the server',
  );
  const count = Math.round(options.rate * options.durationSec);
  const tag = randomBytes(4).toString('hex');
  // Under --chaos the run tests recovery by cursor, so the history holds the whole run: a
  // client that backs off twice in a row must not fall out of it. (Falling out of history,
  // and the gap signal that says so, is tested in server/conformance.test.ts.)
  const env: Record<string, string> = options.chaos ? { HISTORY_SIZE: String(Math.max(1000, 2 * count)) } : {};
  // Every subscriber is 127.0.0.1: the per-address cap is set from the client count, so
  // it is still on, as in use, and a bench that leaked connections would run into it.
  const connectionCap = connectionsNeeded(clients, options, [browser ? 'browser' : 'node']) + CONNECTIONS_MARGIN;
  env.MAX_CONNECTIONS_PER_ADDRESS = String(connectionCap);
  // Keys of its own per run: every run starts on an empty feed, whatever the Redis holds.
  if (feed.redisUrl) Object.assign(env, { FEED: feed.redisUrl, REDIS_KEY_PREFIX: `bench-${tag}` });
  Object.assign(env, serverEnvFor(wsVariant));
  const servers: ServerProcess[] = [];
  try {
    if (!options.url) for (let i = 0; i < nodeCount; i += 1) servers.push(await startServerProcess(env));
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  const server = servers[0] ?? null;
  const baseUrl = options.url ?? (server as ServerProcess).baseUrl;
  const nodeUrls = options.url ? [options.url] : servers.map((s) => s.baseUrl);
  // Subscribers reach each node through a shaper under network conditions: the publisher
  // stands for another user elsewhere and goes direct, as do the figures.
  const shapers = network ? await shapeAll(nodeUrls, network, index + 1) : null;
  const shapedUrls = shapers?.urls ?? nodeUrls;
  const target = new URL(shapedUrls[0] as string);
  const proxy = options.chaos
    ? await FaultProxy.start({ host: target.hostname, port: Number(target.port || 80) })
    : null;
  let middle: RunningIntermediary | null = null;
  if (intermediary && intermediary !== DIRECT) {
    try {
      middle = await startIntermediary(intermediary, { host: target.hostname, port: Number(target.port || 80) });
    } catch (error) {
      await shapers?.close();
      await Promise.all(servers.map((s) => s.stop()));
      throw new Error(`--intermediary ${intermediary.label}: ${(error as Error).message}`);
    }
  }
  const firstDelays = new FirstDelays();
  let connectError: string | null = null;
  // Subscribers go through the fault proxy or the intermediary when there is one; publishing and the figures do not.
  const subscriberUrls = proxy ? [proxy.url] : middle ? [middle.url] : shapedUrls;
  // The figures of all the nodes together: CPU adds up, and so does memory.
  const figures = (): ProcessFigures | null => {
    const each = servers.map((s) => s.figures());
    if (each.length === 0 || each.some((f) => f === null)) return null;
    return (each as ProcessFigures[]).reduce((sum, f) => ({
      cpuMs: sum.cpuMs + f.cpuMs,
      rssBytes: sum.rssBytes + f.rssBytes,
      maxRssBytes: sum.maxRssBytes + f.maxRssBytes,
    }));
  };
  try {
    // A server this run started is on this machine (clock.ts); one at --url is measured.
    const clock = options.url ? await calibrate(baseUrl) : await startedServerClock(baseUrl);
    const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as Health;
    const author = `bench-${tag}`;
    const clientId = `bench-${tag}-${technique}`;
    // Subscribers in blocks, one block per node; the publisher's node is the first.
    const blocks = subscriberUrls.map((url, node) => {
      const first = Math.round((node * clients) / subscriberUrls.length);
      return { url, node, first, size: Math.round(((node + 1) * clients) / subscriberUrls.length) - first };
    });
    const nodeOf = (client: number) => blocks.findLast((block) => block.first <= client)?.node ?? 0;
    const tracker = new DeliveryTracker(
      author,
      clients,
      nodeCount > 1 ? (client) => (nodeOf(client) === 0 ? 'sameNode' : 'otherNodes') : undefined,
    );
    const expected = count * clients;

    const processStart = figures();
    // VmHWM would include the server's own start-up; the run's peak is sampled instead.
    let peakRss = processStart?.rssBytes ?? 0;
    const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, figures()?.rssBytes ?? 0)), RSS_SAMPLE_EVERY_MS);
    const benchCpuStart = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    loopDelay.enable();
    const phaseStart = performance.now();

    const who = browser ? 'browser subscribers' : 'subscribers';
    phase(nodeCount > 1 ? `connecting ${clients} ${who} over ${nodeCount} nodes` : `connecting ${clients} ${who}`);
    const subscribers = subscribeAll(
      blocks
        .filter((block) => block.size > 0)
        .map((block) =>
          (browser ?? driver).subscribe({
            technique: driver,
            baseUrl: block.url,
            clientId,
            clients: block.size,
            since: health.lastId,
            epoch: health.epoch,
            pollIntervalMs: options.pollIntervalMs,
            tracker: firstDelays.wrap(tracker.slice(block.first), block.first),
            clock,
            ...(wsVariant ? { wsVariant } : {}),
          }),
        ),
    );
    let report: SubscriberReport | undefined;
    try {
      try {
        await withTimeout(
          subscribers.ready,
          CONNECT_TIMEOUT_MS,
          `${technique}: the ${clients} subscribers did not all connect within ${CONNECT_TIMEOUT_MS / 1000} s`,
        );
      } catch (error) {
        // Behind an intermediary, failing to connect is a finding: the run goes on and says so.
        if (!intermediary) throw error;
        connectError = (error as Error).message;
      }

      const connectedRss = figures()?.rssBytes ?? null;

      const durationMs = options.durationSec * 1000;
      const publishStart = performance.now();
      let answered = 0;
      const ticker = setInterval(() => {
        events.emit('event', {
          type: 'progress',
          technique,
          clients,
          elapsedMs: performance.now() - publishStart,
          durationMs,
          published: answered,
          delivered: tracker.delivered,
          expected,
        });
      }, PROGRESS_EVERY_MS);
      let published: Awaited<ReturnType<typeof publish>> | null = null;
      let kind = 0;
      const chaos = proxy
        ? setInterval(() => proxy.cutRandom(kind++ % 2 === 0 ? 'reset' : 'close'), CHAOS_CUT_EVERY_MS)
        : undefined;
      try {
        if (count > 0) {
          phase(`publishing ${count} messages at ${options.rate}/s`);
          published = await publish({
            baseUrl,
            rate: options.rate,
            count,
            author,
            text: paddedText(options.payloadBytes, author),
            onAnswer: () => (answered += 1),
          });
        } else {
          phase(`waiting ${options.durationSec} s with nothing published`);
          await sleep(durationMs);
        }
        clearInterval(chaos);
        const ids = published?.ids ?? [];
        phase('waiting for the last deliveries');
        const deadline =
          performance.now() + Math.max(MIN_DRAIN_MS, 2 * options.pollIntervalMs, proxy ? CHAOS_DRAIN_MS : 0);
        while (ids.length > 0 && performance.now() < deadline) {
          if (tracker.delivered >= ids.length * clients && tracker.hasAll(ids)) break;
          await sleep(10);
        }
      } finally {
        clearInterval(ticker);
        clearInterval(chaos);
      }
      // Browser pages take seconds to load before they connect: counted from their connecting.
      const subscribedMs = performance.now() - (browser?.connectingSince() ?? phaseStart);
      // Every message delivered, every connection still open: what the run left each one holding.
      const deliveredRss = figures()?.rssBytes ?? null;
      phase('disconnecting');
      report = await subscribers.stop();
      // Let the server see the hang-ups, so every byte is attributed before we ask.
      await sleep(200);
      const stats = sumStats(await Promise.all(nodeUrls.map((url) => clientStats(url, clientId, technique))));
      const processEnd = figures();
      clearInterval(rssSampler);
      if (processEnd) processEnd.maxRssBytes = Math.max(peakRss, processEnd.rssBytes);
      const phaseMs = performance.now() - phaseStart;
      loopDelay.disable();
      const benchCpu = process.cpuUsage(benchCpuStart);
      // After the figures, so that the probes' connections and CPU are in none of them.
      // Not for browser clients (a page takes seconds to load), under --chaos (cuts), or
      // behind an intermediary (a buffering one would hold every probe to its timeout).
      let firstMessage: FirstMessageFigures | null = null;
      if (!browser && !proxy && !middle) {
        phase('timing the first message of fresh clients');
        const after = (await (await fetch(`${baseUrl}/api/health`)).json()) as Health;
        if (after.lastId > 0)
          firstMessage = await probeFirstMessage({
            driver,
            technique: driver,
            baseUrl: subscriberUrls[0] as string,
            clientId: `${clientId}-first`,
            lastId: after.lastId,
            epoch: after.epoch,
            pollIntervalMs: options.pollIntervalMs,
            clock,
            timeoutMs: FIRST_MESSAGE_TIMEOUT_MS + FIRST_MESSAGE_TIMEOUT_TRIPS * (network?.rttMs ?? 0),
          });
      }

      const result = measure({
        driver,
        clients,
        tracker,
        stats,
        report,
        published,
        subscribedMs,
        phaseMs,
        process: processStart && processEnd ? { start: processStart, end: processEnd } : null,
        benchCpuMs: (benchCpu.user + benchCpu.system) / 1000,
        loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_MONITOR_RESOLUTION_MS),
        pollIntervalMs: options.pollIntervalMs,
        clockUncertaintyMs: clock.uncertaintyMs,
        chaos: proxy ? { cuts: proxy.stats.cut, everyMs: CHAOS_CUT_EVERY_MS } : null,
        connectionCap,
        feed: options.url ? 'unknown' : feed.name,
        nodes: nodeCount,
        epoch: health.epoch ?? '',
        network,
        firstMessage,
        wsVariant,
        rssPerConnection:
          processStart && connectedRss !== null && deliveredRss !== null
            ? { before: processStart.rssBytes, connected: connectedRss, delivered: deliveredRss }
            : null,
      });
      if (browser) {
        Object.assign(result, browser.figures(technique));
        result.warnings.push(...browser.warnings(result));
      }
      if (nodeCount > 1) result.latencyByNode = tracker.latencyByGroup() as TechniqueResult['latencyByNode'];
      if (!server) result.warnings.push('server CPU and memory are not measured with --url');
      if (intermediary)
        result.intermediary = intermediaryEntry(
          intermediary,
          middle?.figures() ?? { connections: null, statuses: null, idleCuts: null },
          firstDelays,
          connectError,
        );
      events.emit('event', { type: 'done', result });
      return result;
    } finally {
      clearInterval(rssSampler);
      if (!report) await subscribers.stop().catch(() => undefined);
    }
  } finally {
    await proxy?.close();
    await shapers?.close();
    await middle?.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Several nodes' subscribers as one: ready when all are, stopped together, reports added up. */
function subscribeAll(groups: Subscribers[]): Subscribers {
  if (groups.length === 1) return groups[0] as Subscribers;
  return {
    ready: Promise.all(groups.map((group) => group.ready)).then(() => undefined),
    async stop() {
      const reports = await Promise.all(groups.map((group) => group.stop()));
      // autocannon's own latency cannot be added up across instances: left out.
      return {
        errors: reports.reduce((sum, r) => sum + r.errors, 0),
        reconnects: reports.reduce((sum, r) => sum + r.reconnects, 0),
      };
    },
  };
}

/** The counters of several nodes for one client id, added up. */
function sumStats(all: WireCounters[]): WireCounters {
  return all.reduce((sum, s) => ({
    openConnections: sum.openConnections + s.openConnections,
    activeRequests: sum.activeRequests + s.activeRequests,
    httpRequests: sum.httpRequests + s.httpRequests,
    messagesDelivered: sum.messagesDelivered + s.messagesDelivered,
    payloadBytes: sum.payloadBytes + s.payloadBytes,
    bytesIn: { headers: sum.bytesIn.headers + s.bytesIn.headers, body: sum.bytesIn.body + s.bytesIn.body },
    bytesOut: { headers: sum.bytesOut.headers + s.bytesOut.headers, body: sum.bytesOut.body + s.bytesOut.body },
  }));
}

async function clientStats(baseUrl: string, clientId: string, technique: string): Promise<WireCounters> {
  const stats = (await fetchClientStats(baseUrl, clientId))[technique];
  if (!stats) throw new Error(`${baseUrl}/api/stats has no figures for ${technique}: is this a realtime-lab server?`);
  return stats;
}

interface Measurements {
  driver: BenchTechnique;
  clients: number;
  tracker: DeliveryTracker;
  stats: WireCounters;
  report: SubscriberReport;
  published: Awaited<ReturnType<typeof publish>> | null;
  subscribedMs: number;
  phaseMs: number;
  process: { start: ProcessFigures; end: ProcessFigures } | null;
  benchCpuMs: number;
  loopDelayP99Ms: number;
  pollIntervalMs: number;
  clockUncertaintyMs: number;
  chaos: { cuts: number; everyMs: number } | null;
  /** MAX_CONNECTIONS_PER_ADDRESS of the servers the bench started. */
  connectionCap: number;
  feed: TechniqueResult['feed'];
  nodes: number;
  /** The feed's epoch, as `/api/health` named it before the run ('' when it names none). */
  epoch: string;
  /** The conditions between subscribers and server; null: loopback, no shaper. */
  network?: RunNetwork | null;
  /** What fresh clients took to their first message after the run; null: not probed. */
  firstMessage?: FirstMessageFigures | null;
  /** The WebSocket variant the run used; null: the technique does not upgrade, or browser clients. */
  wsVariant?: WsVariant | null;
  /** The server's resident memory before subscribers connected, once all were connected, and after the last delivery. */
  rssPerConnection?: { before: number; connected: number; delivered: number } | null;
}

/** Turns what was recorded into one entry of results.json. */
export function measure(m: Measurements): TechniqueResult {
  const delivery = m.tracker.figures();
  const ids = m.published?.ids ?? [];
  const expected = ids.length * m.clients;
  const delivered = delivery.messagesDelivered;
  const { stats } = m;
  const total = stats.bytesIn.headers + stats.bytesIn.body + stats.bytesOut.headers + stats.bytesOut.body;
  const bytes = {
    requestHeaders: stats.bytesIn.headers,
    responseHeaders: stats.bytesOut.headers,
    framing: total - stats.bytesIn.headers - stats.bytesOut.headers - stats.payloadBytes,
    payload: stats.payloadBytes,
    total,
  };
  const perMessage = (value: number) => (delivered > 0 ? round(value / delivered) : null);
  const minutes = m.subscribedMs / 60_000;
  const warnings: string[] = [];
  // Under --chaos the server also counts what it wrote into connections that were then cut.
  if (!m.chaos && delivery.payloadBytes !== stats.payloadBytes) {
    warnings.push(
      `the subscribers received ${delivery.payloadBytes} payload bytes, the server counted ${stats.payloadBytes}`,
    );
  }
  if (delivered < expected)
    warnings.push(`${expected - delivered} of ${expected} messages did not arrive before the drain deadline`);
  if (delivery.duplicates > 0) warnings.push(`${delivery.duplicates} duplicate deliveries`);
  if (delivery.outOfOrder > 0) warnings.push(`${delivery.outOfOrder} messages out of order`);
  if (m.report.errors > 0) warnings.push(`${m.report.errors} subscriber errors`);
  const refused = m.published?.autocannon.non2xx ?? 0;
  if (refused > 0)
    warnings.push(
      `${refused} publishes were refused (a server's PUBLISH_RATE_PER_CLIENT or PUBLISH_RATE_PER_ADDRESS limit answers 429): fewer messages than asked for were sent`,
    );
  const benchCpuPercent = (m.benchCpuMs / m.phaseMs) * 100;
  const saturated = benchCpuPercent > SATURATED_CPU_PERCENT || m.loopDelayP99Ms > SATURATED_LOOP_DELAY_MS;
  if (saturated) {
    warnings.push(
      `the bench process itself was saturated (CPU ${benchCpuPercent.toFixed(0)}% of a core, event-loop delay p99 ${m.loopDelayP99Ms.toFixed(1)} ms): delays include the bench's own queueing`,
    );
  }
  if (m.firstMessage && m.firstMessage.medianMs === null)
    warnings.push(
      `time to first message: ${m.firstMessage.samplesMs.filter((ms) => ms === null).length} of ${m.firstMessage.samplesMs.length} fresh clients got no message in time`,
    );
  if (m.clockUncertaintyMs > 1)
    warnings.push(`the clock offset to the server is only known to ±${m.clockUncertaintyMs.toFixed(2)} ms`);

  const latency = delivery.latencyMs;
  const framingPerMessage = perMessage(bytes.framing);
  const modelInput: ModelInput = {
    clients: m.clients,
    publishedIds: ids,
    publishWindowMs: m.published?.windowMs ?? 0,
    subscribedMs: m.subscribedMs,
    pollIntervalMs: m.pollIntervalMs,
    payloadBytesPerMessage: delivered > 0 ? delivery.payloadBytes / delivered : 0,
    epoch: m.epoch,
    network: m.network ?? null,
    ...(m.wsVariant ? { wsVariant: m.wsVariant } : {}),
  };
  const measuredOf: Record<TheoryCheck['metric'], number | null> = {
    httpRequests: stats.httpRequests,
    meanLatencyMs: latency?.mean ?? null,
    framingBytesPerMessage: framingPerMessage,
    firstMessageMs: m.firstMessage?.medianMs ?? null,
  };
  const theory: TheoryCheck[] = [];
  // Under --chaos, reconnections add requests, headers and stream openings the simple models leave out.
  for (const prediction of m.chaos ? [] : m.driver.predict(modelInput)) {
    const measured = measuredOf[prediction.metric];
    if (measured === null) continue;
    const agrees = agreesWithModel(prediction, measured);
    theory.push({
      ...prediction,
      predicted: round(prediction.predicted),
      measured: round(measured),
      ratio: round(prediction.predicted === 0 ? 0 : measured / prediction.predicted),
      agrees,
    });
    if (!agrees)
      warnings.push(
        `${prediction.metric}: measured ${round(measured)}, the model (${prediction.model}) predicts ${round(prediction.predicted)}`,
      );
  }

  return {
    technique: m.driver.id,
    clients: m.clients,
    feed: m.feed,
    nodes: m.nodes,
    network: m.network ?? null,
    client: m.driver.client,
    clientKind: 'node',
    ...(m.wsVariant ? { wsVariant: m.wsVariant } : {}),
    messagesPublished: ids.length,
    messagesExpected: expected,
    messagesDelivered: delivered,
    lost: Math.max(0, expected - delivered),
    duplicates: delivery.duplicates,
    outOfOrder: delivery.outOfOrder,
    gapsReported: delivery.gapsReported,
    foreignMessages: delivery.foreign,
    httpRequests: stats.httpRequests,
    httpRequestsPerMessage: perMessage(stats.httpRequests),
    bytes,
    overheadBytesPerMessage: perMessage(total - bytes.payload),
    bytesPerMessage: perMessage(total),
    bytesPerClientPerMinute: round(total / m.clients / minutes),
    httpRequestsPerClientPerMinute: round(stats.httpRequests / m.clients / minutes),
    latencyMs: latency,
    ...(m.firstMessage
      ? { firstMessageMs: m.firstMessage.medianMs, firstMessageProbesMs: m.firstMessage.samplesMs }
      : {}),
    server: m.process
      ? {
          cpuMs: round(m.process.end.cpuMs - m.process.start.cpuMs),
          cpuPercent: round(((m.process.end.cpuMs - m.process.start.cpuMs) / m.phaseMs) * 100),
          maxRssBytes: m.process.end.maxRssBytes,
          rssAtStartBytes: m.process.start.rssBytes,
          maxConnectionsPerAddress: m.connectionCap,
          ...(m.rssPerConnection
            ? {
                rssPerConnectionBytes: {
                  connected: round((m.rssPerConnection.connected - m.rssPerConnection.before) / m.clients),
                  afterDelivery: round((m.rssPerConnection.delivered - m.rssPerConnection.before) / m.clients),
                },
              }
            : {}),
        }
      : null,
    bench: {
      cpuMs: round(m.benchCpuMs),
      cpuPercent: round(benchCpuPercent),
      eventLoopDelayP99Ms: round(m.loopDelayP99Ms),
      saturated,
    },
    subscriberErrors: m.report.errors,
    reconnects: m.report.reconnects,
    chaos: m.chaos,
    autocannon: m.report.autocannon ?? null,
    publisher: m.published
      ? {
          ...m.published.autocannon,
          achievedRate: round(m.published.windowMs > 0 ? ((ids.length - 1) * 1000) / m.published.windowMs : 0),
        }
      : null,
    subscribedMs: round(m.subscribedMs),
    publishWindowMs: round(m.published?.windowMs ?? 0),
    theory,
    warnings,
  };
}

/** The connections one run of the bench opens to a server at most, all from this machine. */
export function connectionsNeeded(
  clients: number,
  options: Pick<BenchOptions, 'rate' | 'durationSec' | 'chaos'>,
  kinds: readonly ClientKind[] = ['node'],
): number {
  const publisher = publisherConnections(options.rate, Math.max(1, Math.round(options.rate * options.durationSec)));
  const perClient = kinds.includes('browser') ? BROWSER_CONNECTIONS_PER_CLIENT : 1;
  return clients * perClient + publisher + OWN_CONNECTIONS + (options.chaos ? CHAOS_CONNECTIONS : 0);
}

/**
 * Fails with a plain message unless `url` is a realtime-lab server that answers and lets
 * one address open the `connections` the bench needs.
 */
export async function checkServer(url: string, connections = 0): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`cannot reach ${url} (${why}): is the server running? (npm start)`);
  }
  const body = (await response.json().catch(() => null)) as { now?: unknown; lastId?: unknown } | null;
  if (!response.ok || typeof body?.now !== 'number' || typeof body.lastId !== 'number') {
    throw new Error(
      `${url}/api/health answered ${response.status} without a realtime-lab health document: is this a realtime-lab server?`,
    );
  }
  const stats = (await (
    await fetch(`${url}/api/stats`, { signal: AbortSignal.timeout(5000) })
  )
    .json()
    .catch(() => null)) as Partial<ServerStats> | null;
  const limit = stats?.connections?.perAddressLimit;
  if (typeof limit === 'number' && limit > 0 && limit < connections) {
    throw new Error(
      `${url} lets one address hold ${limit} connections (MAX_CONNECTIONS_PER_ADDRESS), and this bench opens up to ${connections} from this machine: ` +
        `start that server with MAX_CONNECTIONS_PER_ADDRESS=0 (or at least ${connections})`,
    );
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The autocannon the bench runs, for results.json. */
export function autocannonVersion(): string {
  try {
    return (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
