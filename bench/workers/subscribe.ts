/**
 * Subscribers spread over worker processes (worker.ts), as a drop-in for a driver's
 * `subscribe`: each worker runs the technique's own bench driver for its slice of the
 * clients, and its receipts reach the parent's DeliverySink with the slice's first client
 * number added, so the per (client, id) exactly-once check sees every client as one run.
 * On one process the bench's clients would share one core with their parsing, timers and
 * sockets, and at thousands of clients it is the bench, not the server, that is slow;
 * `clientCpu()` says how busy each worker was (see cpu.ts for the warning).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeliverySink } from '../delivery.ts';
import type { SubscribeContext, SubscriberReport, Subscribers } from '../drivers/driver.ts';
import { heldOpen } from '../drivers/pollers.ts';
import { procFigures } from '../server-process.ts';
import { techniques } from '../../server/contract/techniques.js';
import { type FromWorker, RECEIPT_FIELDS, type ToWorker } from './messages.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** How long the server may take to hold every request once each worker's are out, ms. */
const HELD_TIMEOUT_MS = 120_000;
/** How long a worker may take to send its report once told to stop, ms, before it is killed. */
const STOP_TIMEOUT_MS = 15_000;

/** Workers this process started and has not stopped: killed if the bench itself ends. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface WorkerSubscribeOptions extends Omit<SubscribeContext, 'technique' | 'tracker' | 'clock'> {
  /** The registry id; each worker loads bench/drivers/<id>.ts itself. */
  techniqueId: string;
  /** Processes to spread the clients over, in slices as even as possible (at most one per client). */
  workers: number;
  /** The parent's calibrated Clock offset (server minus local, ms), so delays are on the server's clock. */
  clockOffsetMs: number;
  /**
   * Whether reconnects wait the contract's jittered backoff (the default, true); false:
   * every client waits the base delay exactly (the reconnect storm's run without jitter).
   */
  reconnectJitter?: boolean;
}

export interface WorkerSubscribers extends Subscribers {
  /** Each worker's CPU time (ms, from /proc via procFigures) and pid, read now. */
  clientCpu(): { pid: number; cpuMs: number }[];
  /**
   * Time from every worker having loaded its driver (the processes' own start left out)
   * to every client connected, ms; null until ready.
   */
  connectMs(): number | null;
  /** Starts the phase the workers' event-loop delay is measured over (by default, since each started). */
  markPhase(): void;
  /** Each worker's event-loop delay over the phase, ms, as it reported it when stopped (empty before). */
  loopDelays(): { pid: number; p99Ms: number; maxMs: number }[];
}

/** The slices of `clients` over `workers`: sizes differing by at most one, each with its first client number. */
export function slices(clients: number, workers: number): { first: number; size: number }[] {
  const count = Math.max(1, Math.min(workers, clients));
  return Array.from({ length: count }, (_, k) => {
    const first = Math.floor((k * clients) / count);
    return { first, size: Math.floor(((k + 1) * clients) / count) - first };
  });
}

/** Starts `options.clients` subscribers of `options.techniqueId` in `options.workers` processes. */
export function subscribeInWorkers(options: WorkerSubscribeOptions, tracker: DeliverySink): WorkerSubscribers {
  if (!Number.isInteger(options.workers) || options.workers < 1)
    throw new Error(`workers: expected a whole number of at least 1, got ${options.workers}`);
  const { workers: _workers, clockOffsetMs, reconnectJitter, techniqueId, ...context } = options;
  const technique = techniques.find((t) => t.id === techniqueId);
  if (!technique) throw new Error(`no technique ${JSON.stringify(techniqueId)} in the registry`);
  const reports: Promise<SubscriberReport>[] = [];
  const readies: Promise<void>[] = [];
  const loads: Promise<void>[] = [];
  const loops: { pid: number; p99Ms: number; maxMs: number }[] = [];
  const children: ChildProcess[] = [];

  for (const slice of slices(options.clients, options.workers)) {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    children.push(child);
    let markReady!: () => void;
    let markFailed!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    let markLoaded!: () => void;
    loads.push(new Promise<void>((resolve) => (markLoaded = resolve)));
    let markStopped!: (report: SubscriberReport) => void;
    const stopped = new Promise<SubscriberReport>((resolve) => (markStopped = resolve));
    child.on('message', (message: FromWorker) => {
      if (message.type === 'deliveries') deliver(tracker, slice.first, message.receipts, message.authors, message.gaps);
      else if (message.type === 'loaded') markLoaded();
      else if (message.type === 'ready') markReady();
      else if (message.type === 'failed')
        markFailed(new Error(`subscriber worker ${child.pid} (${techniqueId}): ${message.message}`));
      else if (message.type === 'loop') loops.push({ pid: child.pid ?? 0, p99Ms: message.p99Ms, maxMs: message.maxMs });
      else if (message.type === 'stopped') markStopped(message.report);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      markFailed(
        new Error(`subscriber worker ${child.pid} (${techniqueId}) exited (${signal ?? code}) before it was ready`),
      );
      // A worker that died uncounted: its clients' errors are unknown, and said so by one.
      markStopped({ errors: 1, reconnects: 0 });
    });
    const start: ToWorker = {
      type: 'start',
      techniqueId,
      baseUrl: context.baseUrl,
      clientId: context.clientId,
      clients: slice.size,
      since: context.since,
      epoch: context.epoch,
      pollIntervalMs: context.pollIntervalMs,
      ...(context.wsVariant ? { wsVariant: context.wsVariant } : {}),
      clockOffsetMs,
      reconnectJitter: reconnectJitter ?? true,
    };
    child.send(start);
    readies.push(ready);
    reports.push(stopped);
  }

  let connectingSince: number | undefined;
  let connectedAt: number | undefined;
  // The clients of every worker connect together, once all processes are up.
  void Promise.all(loads).then(() => {
    connectingSince = performance.now();
    for (const child of children) if (child.connected) child.send({ type: 'connect' } satisfies ToWorker);
  });
  let stopping: Promise<SubscriberReport> | undefined;
  return {
    markPhase() {
      for (const child of children) if (child.connected) child.send({ type: 'phase' } satisfies ToWorker);
    },
    loopDelays: () => [...loops],
    connectMs: () =>
      connectingSince === undefined || connectedAt === undefined ? null : connectedAt - connectingSince,
    ready: Promise.all(readies).then(async () => {
      // A worker's driver that waits for held requests counts them by client id, which all
      // workers share: one may see the others' and be ready early. The total settles it.
      if (technique.capabilities.holdsRequest)
        await heldOpen({ ...context, technique, tracker, clock: noClock }, options.clients, HELD_TIMEOUT_MS);
      connectedAt = performance.now();
    }),
    clientCpu: () =>
      children.flatMap((child) => {
        const figures = child.pid === undefined ? null : procFigures(child.pid);
        return figures && child.pid !== undefined ? [{ pid: child.pid, cpuMs: figures.cpuMs }] : [];
      }),
    stop() {
      stopping ??= (async () => {
        for (const child of children) {
          if (child.connected) child.send({ type: 'stop' } satisfies ToWorker);
          else if (child.exitCode === null) child.kill('SIGKILL');
          const cut = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          child.once('exit', () => clearTimeout(cut));
        }
        const all = await Promise.all(reports);
        await Promise.all(
          children.map((child) =>
            child.exitCode !== null || child.signalCode !== null
              ? undefined
              : new Promise<void>((resolve) => child.once('exit', () => resolve())),
          ),
        );
        return {
          errors: all.reduce((sum, r) => sum + r.errors, 0),
          reconnects: all.reduce((sum, r) => sum + r.reconnects, 0),
          // autocannon's latency histogram is one per process; figures of several cannot be added.
          ...(all.length === 1 && all[0]?.autocannon ? { autocannon: all[0].autocannon } : {}),
        };
      })();
      return stopping;
    },
  };
}

/** heldOpen reads no clock; it is given one only because a SubscribeContext has one. */
const noClock = { offsetMs: 0, uncertaintyMs: 0, now: () => Number.NaN };

/** One batch from a worker into the parent's sink, its client numbers moved to the slice's. */
function deliver(sink: DeliverySink, first: number, receipts: Float64Array, authors: string[], gaps: Float64Array) {
  for (let i = 0; i < receipts.length; i += RECEIPT_FIELDS) {
    const message = {
      id: receipts[i + 1] as number,
      ts: receipts[i + 2] as number,
      author: authors[receipts[i + 5] as number] ?? '',
    };
    sink.record(first + (receipts[i] as number), message, receipts[i + 3] as number, receipts[i + 4] as number);
  }
  for (let i = 0; i < gaps.length; i += 2) sink.gap(first + (gaps[i] as number), gaps[i + 1] as number);
}
