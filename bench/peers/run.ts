/**
 * One row of the `--peers` comparison: a server in its own process (realtime-lab's, or a
 * peer's program), first its memory per idle connection, then a steady publish to its
 * subscribers: wire bytes per delivered message, delay percentiles, server CPU per
 * delivered message, and every (client, id) checked for exactly once.
 *
 * The same publisher (bench/publisher.ts), clock (bench/clock.ts), delivery check
 * (bench/delivery.ts) and process figures (bench/server-process.ts) serve every row; only
 * the subscribers and the byte count differ: realtime-lab's technique drivers and its own
 * `/api/stats` (bytes of its subscribers' requests, counted on the sockets), a peer's
 * library client and the peer's `/__bench/wire` (bytes of its subscribers' sockets).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Health } from '../../server/contract/stats.js';
import { type Clock, startedServerClock } from '../clock.ts';
import { allowedCpus, cpuListOf } from '../cpu-split.ts';
import { DeliveryTracker, type LatencySummary, round } from '../delivery.ts';
import { type Subscribers, fetchClientStats } from '../drivers/driver.ts';
import type { BenchTechnique } from '../drivers/index.ts';
import { paddedText, publish } from '../publisher.ts';
import type { DeliveryCounts, IdleMemory } from '../result.ts';
import { type ServerProcess, idleMemory, startServerProcess } from '../server-process.ts';
import { subscribe } from './clients/common.ts';
import { type Family, type Peer, familyOf } from './peers.ts';

/** One row of the comparison, as results.json holds it (`peers.rows[]`). */
export interface PeerRowResult extends DeliveryCounts {
  family: Family;
  /** realtime-lab's own technique, or an established library's server. */
  side: 'realtime-lab' | 'peer';
  /** The technique's id, or the peer's name. */
  name: string;
  server: string;
  client: string;
  clients: number;
  /** Bytes both ways on the subscribers' sockets while publishing, per delivered message. */
  wireBytesPerMessage: number | null;
  latencyMs: LatencySummary | null;
  /** Server CPU (user + system) from the first publish to the last delivery. */
  cpuMs: number | null;
  /** `cpuMs` per delivered message, µs. */
  cpuUsPerMessage: number | null;
  /** Memory per idle connection, garbage collected before each reading. */
  memory: IdleMemory | null;
  /** The bench process's own CPU over the publish phase, % of one core: past ~80 %, the bench may be the bottleneck. */
  benchCpuPercent: number;
  /**
   * The CPUs the server process was allowed to run on while publishing, as the kernel
   * reported them (its /proc status, e.g. `0`); null where it could not be read. Optional:
   * older results have none.
   */
  serverCpus?: string | null;
  /**
   * For a row of several rounds (rounds.ts), each round's delay p50 and p99 in round
   * order, beside their medians in `latencyMs`: how far a row's tail moves from one round
   * to the next on a shared machine, so that a lead smaller than that reads as one.
   * Absent for a row of one round, and from results made before 2026-12-03 09:30 UTC.
   */
  delayByRound?: { p50Ms: (number | null)[]; p99Ms: (number | null)[] };
  errors: number;
  reconnects: number;
}

export interface PeerRunOptions {
  clients: number;
  /** Connections held idle for the memory figure; 0 leaves it out. */
  idleClients: number;
  rate: number;
  durationSec: number;
  payloadBytes: number;
  pollIntervalMs: number;
  /** The CPUs the row's server runs on (cpu-split.ts); anywhere when absent. */
  serverCpus?: readonly number[];
  /** A line of progress. */
  onStep?: (line: string) => void;
}

/** What a row needs to know of its side: how to start the server, subscribe and count bytes. */
export interface RowTarget {
  family: Family;
  side: PeerRowResult['side'];
  name: string;
  server: string;
  client: string;
  /** Starts the row's server, on `cpus` when given (cpu-split.ts). */
  start(connections: number, cpus?: readonly number[]): Promise<ServerProcess>;
  subscribe(context: {
    baseUrl: string;
    clientId: string;
    clients: number;
    health: Health & Record<string, unknown>;
    tracker: DeliveryTracker;
    clock: Clock;
    pollIntervalMs: number;
  }): Subscribers;
  /** Bytes both ways of the subscribers named `clientId` (realtime-lab) or of every subscriber (a peer), so far. */
  wireBytes(baseUrl: string, clientId: string): Promise<number>;
  /** How long the server keeps a connection's state after its client left, ms (Peer.keepsClosedMs). */
  keepsClosedMs: number;
}

/** realtime-lab's technique as a row: its server, its bench driver, its own per-client counters. */
export function techniqueTarget(driver: BenchTechnique): RowTarget | null {
  const family = familyOf(driver);
  if (!family) return null;
  return {
    family,
    side: 'realtime-lab',
    name: driver.id,
    server: 'realtime-lab (server/main.ts)',
    client: driver.client,
    // Every subscriber is 127.0.0.1: the per-address cap is lifted to what the row opens.
    start: (connections, cpus) =>
      startServerProcess({ MAX_CONNECTIONS_PER_ADDRESS: String(connections) }, undefined, {
        inspectable: true,
        cpus,
        compiled: true,
      }),
    subscribe: (c) =>
      driver.subscribe({
        technique: driver,
        baseUrl: c.baseUrl,
        clientId: c.clientId,
        clients: c.clients,
        since: c.health.lastId,
        epoch: c.health.epoch,
        pollIntervalMs: c.pollIntervalMs,
        tracker: c.tracker,
        clock: c.clock,
      }),
    async wireBytes(baseUrl, clientId) {
      const counters = (await fetchClientStats(baseUrl, clientId))[driver.id];
      if (!counters) throw new Error(`${baseUrl}/api/stats has no figures for ${driver.id}`);
      return counters.bytesIn.headers + counters.bytesIn.body + counters.bytesOut.headers + counters.bytesOut.body;
    },
    keepsClosedMs: 0,
  };
}

/** A peer as a row: its program, its library's client, its `/__bench/wire`. */
export function peerTarget(peer: Peer): RowTarget {
  return {
    family: peer.family,
    side: 'peer',
    name: peer.name,
    server: peer.server,
    client: peer.peerClient.client,
    start: (_connections, cpus) =>
      startServerProcess(peer.env, peer.script, { inspectable: true, cpus, compiled: true }),
    subscribe: (c) =>
      subscribe(peer.peerClient, {
        baseUrl: c.baseUrl,
        clients: c.clients,
        tracker: c.tracker,
        clock: c.clock,
        health: c.health,
      }),
    async wireBytes(baseUrl) {
      const figures = (await (await fetch(`${baseUrl}/__bench/wire`)).json()) as { bytes: number };
      return figures.bytes;
    },
    keepsClosedMs: peer.keepsClosedMs,
  };
}

/** At least this many subscribers warm up; the delivery's count when it has more. */
const WARM_UP_CLIENTS = 10;
/** Messages of the warm-up, at 100 a second. */
const WARM_UP_MESSAGES = 100;
/** Idle connections stay this long before VmRSS is read: what they hold once settled. */
const IDLE_MS = 2000;
/** After clients hang up, the server's time to finish with their connections, ms (plus what it keeps: RowTarget.keepsClosedMs). */
const HANG_UP_MS = 1000;
const SETTLE_MS = 300;
const DRAIN_MS = 3000;
const CONNECT_TIMEOUT_MS = 60_000;
/** Room for the publisher's, the clock's and the counters' connections. */
const CONNECTION_MARGIN = 64;

/** Runs one row on a fresh server process. */
export async function runRow(target: RowTarget, options: PeerRunOptions): Promise<PeerRowResult> {
  const step = (text: string) => options.onStep?.(`    ${target.name}: ${text}`);
  const tag = randomBytes(4).toString('hex');
  const author = `bench-${tag}`;
  step('starting the server');
  const server = await target.start(
    Math.max(options.clients, options.idleClients, WARM_UP_CLIENTS) + CONNECTION_MARGIN,
    options.serverCpus,
  );
  try {
    const { baseUrl } = server;
    const clock = await startedServerClock(baseUrl);
    const health = async () =>
      (await (await fetch(`${baseUrl}/api/health`)).json()) as Health & Record<string, unknown>;
    const phase = async (clientId: string, clients: number, tracker: DeliveryTracker) => {
      const subscribers = target.subscribe({
        baseUrl,
        clientId,
        clients,
        health: await health(),
        tracker,
        clock,
        pollIntervalMs: options.pollIntervalMs,
      });
      await within(
        subscribers.ready,
        CONNECT_TIMEOUT_MS,
        `${target.name}: ${clients} subscribers did not connect`,
      ).catch(async (error: unknown) => {
        await subscribers.stop();
        throw error;
      });
      return subscribers;
    };

    let memory: PeerRowResult['memory'] = null;
    if (options.idleClients > 0) {
      step(`memory: ${options.idleClients} idle connections, opened and closed once first`);
      // A first round, opened and closed: V8 compiles the code of the connect path while
      // a server's first thousand connections open, a cost paid once (for realtime-lab's
      // WebSocket, ~300 bytes "per connection" at 1,000, ~140 for ws: docs/peers.md), not
      // memory a connection holds. It is then compiled for the round that is measured.
      // Both rounds are the same connections: one client id, one count.
      const idleRound = () =>
        phase(`${author}-idle`, options.idleClients, new DeliveryTracker(`${author}-idle`, options.idleClients));
      const first = await idleRound();
      await sleep(SETTLE_MS);
      await first.stop();
      await sleep(HANG_UP_MS + target.keepsClosedMs);
      const before = await server.settledMemory();
      const idle = await idleRound();
      await sleep(IDLE_MS);
      const connected = await server.settledMemory();
      await idle.stop();
      if (before && connected) memory = idleMemory(before, connected, options.idleClients);
      // The idle clients' hang-ups are the server's to finish before anything is measured.
      await sleep(HANG_UP_MS);
    }

    // The delivery's code paths, run as often as the delivery runs them, right before it is
    // measured. A path run a few times is still interpreted, and V8 compiles it while the
    // delivery is measured, on helper threads that share the server's one CPU with its main
    // thread (cpu-split.ts): in the long-polling row, realtime-lab's server spent 397 ms of
    // its 5-s delivery compiling (SockJS's 133) after a warm-up of 10 subscribers and 20
    // messages made before the memory phase, 91 ms (SockJS's 23) after this one. A bigger
    // warm-up before the memory phase did not help: its thousands of connections undid it
    // (docs/peers.md).
    const warmClients = Math.max(options.clients, WARM_UP_CLIENTS);
    step(`warming up: ${warmClients} subscribers, ${WARM_UP_MESSAGES} messages`);
    const warm = await phase(`${author}-warm`, warmClients, new DeliveryTracker(`${author}-warm`, warmClients));
    await publish({ baseUrl, rate: 100, count: WARM_UP_MESSAGES, author: `${author}-warm`, text: 'warm-up' });
    await sleep(SETTLE_MS);
    await warm.stop();
    await sleep(500);

    step(`delivery: ${options.clients} subscribers, ${options.rate} msg/s for ${options.durationSec} s`);
    const tracker = new DeliveryTracker(author, options.clients);
    const clientId = `${author}-sub`;
    const subscribers = await phase(clientId, options.clients, tracker);
    let stopped = false;
    try {
      await sleep(SETTLE_MS);
      const bytesStart = await target.wireBytes(baseUrl, clientId);
      const cpuStart = server.figures();
      const serverCpus = allowedCpus(server.pid);
      const benchStart = process.cpuUsage();
      const started = performance.now();
      const count = Math.max(1, Math.round(options.rate * options.durationSec));
      const published = await publish({
        baseUrl,
        rate: options.rate,
        count,
        author,
        text: paddedText(options.payloadBytes, author),
      });
      const deadline = performance.now() + DRAIN_MS;
      while (!tracker.hasAll(published.ids) && performance.now() < deadline) await sleep(20);
      const cpuEnd = server.figures();
      const bench = process.cpuUsage(benchStart);
      const windowMs = performance.now() - started;
      const bytesEnd = await target.wireBytes(baseUrl, clientId);
      stopped = true;
      const report = await subscribers.stop();
      const figures = tracker.figures();
      const delivered = figures.messagesDelivered;
      const expected = published.ids.length * options.clients;
      const cpuMs = cpuStart && cpuEnd ? round(cpuEnd.cpuMs - cpuStart.cpuMs) : null;
      return {
        family: target.family,
        side: target.side,
        name: target.name,
        server: target.server,
        client: target.client,
        clients: options.clients,
        messagesPublished: published.ids.length,
        messagesExpected: expected,
        messagesDelivered: delivered,
        lost: expected - delivered,
        duplicates: figures.duplicates,
        outOfOrder: figures.outOfOrder,
        wireBytesPerMessage: delivered > 0 ? round((bytesEnd - bytesStart) / delivered) : null,
        latencyMs: figures.latencyMs,
        cpuMs,
        cpuUsPerMessage: cpuMs !== null && delivered > 0 ? round((cpuMs * 1000) / delivered) : null,
        memory,
        benchCpuPercent: round(((bench.user + bench.system) / 1000 / windowMs) * 100),
        serverCpus: serverCpus === null ? null : cpuListOf(serverCpus),
        errors: report.errors,
        reconnects: report.reconnects,
      };
    } finally {
      if (!stopped) await subscribers.stop();
    }
  } finally {
    await server.stop();
  }
}

async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
