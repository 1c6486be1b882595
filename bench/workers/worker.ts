/**
 * One subscriber worker: a process of its own that runs a technique's own bench driver
 * (bench/drivers/<id>.ts) for a slice of the clients, so that the clients of a 10,000
 * subscriber run are spread over cores instead of sharing the parent's one. Started by
 * subscribe.ts with an IPC channel; it gets one `start`, loads the driver and says
 * `loaded`, connects its clients on `connect`, reports `ready` (or `failed`),
 * sends its receipts up in batches, and on `stop` stops its subscribers, sends what is
 * left and its report, and exits. It exits too when its parent goes away, so a crashed
 * bench leaves no subscribers behind.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Technique, techniques } from '../../server/contract/techniques.js';
import { localNow } from '../clock.ts';
import type { FeedMessage } from '../delivery.ts';
import type { BenchDriver, Subscribers } from '../drivers/driver.ts';
import { loadDrivers } from '../drivers/index.ts';
import { type FromWorker, RECEIPT_FIELDS, type ToWorker, type WorkerStart } from './messages.ts';

/** Receipts are sent up at least this often while they arrive, ms. */
const FLUSH_MS = 50;
/** …or as soon as this many are waiting. */
const FLUSH_RECEIPTS = 4096;

/**
 * How late this worker's event loop ran, since the phase began: a busy worker reads its
 * sockets late, and the delays it records are then partly its own.
 */
const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();

if (!process.send) throw new Error('bench/workers/worker.ts runs as a child process of bench/workers/subscribe.ts');

const send = (message: FromWorker) => process.send?.(message);

/** Receipts waiting to be sent, flattened (RECEIPT_FIELDS per receipt). */
let receipts: number[] = [];
let gaps: number[] = [];
let authors: string[] = [];
let authorIndex = new Map<string, number>();
let flushTimer: NodeJS.Timeout | undefined;

function flush(): void {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (receipts.length === 0 && gaps.length === 0) return;
  send({ type: 'deliveries', receipts: Float64Array.from(receipts), authors, gaps: Float64Array.from(gaps) });
  receipts = [];
  gaps = [];
  authors = [];
  authorIndex = new Map();
}

function later(): void {
  if (receipts.length >= FLUSH_RECEIPTS * RECEIPT_FIELDS) flush();
  else flushTimer ??= setTimeout(flush, FLUSH_MS);
}

const sink = {
  record(client: number, message: FeedMessage, delayMs: number, payloadBytes: number): void {
    let author = authorIndex.get(message.author);
    if (author === undefined) {
      author = authors.push(message.author) - 1;
      authorIndex.set(message.author, author);
    }
    receipts.push(client, message.id, message.ts, delayMs, payloadBytes, author);
    later();
  },
  gap(client: number, missed: number): void {
    gaps.push(client, missed);
    later();
  },
};

let subscribers: Subscribers | undefined;
let connect: (() => Promise<void>) | undefined;

async function load(options: WorkerStart): Promise<void> {
  const technique = techniques.find((t) => t.id === options.techniqueId);
  if (!technique) throw new Error(`no technique ${JSON.stringify(options.techniqueId)} in the registry`);
  const [driver] = await loadDrivers([technique]);
  if (!driver) throw new Error(`no bench driver for ${technique.id}`);
  connect = () => subscribe(driver, technique, options);
  send({ type: 'loaded' });
}

async function subscribe(driver: BenchDriver, technique: Technique, options: WorkerStart): Promise<void> {
  const offsetMs = options.clockOffsetMs;
  subscribers = driver.subscribe({
    technique,
    baseUrl: options.baseUrl,
    clientId: options.clientId,
    clients: options.clients,
    since: options.since,
    epoch: options.epoch,
    pollIntervalMs: options.pollIntervalMs,
    ...(options.wsVariant ? { wsVariant: options.wsVariant } : {}),
    reconnectJitter: options.reconnectJitter,
    tracker: sink,
    // The parent's calibrated offset: every process reads the same system clock.
    clock: { offsetMs, uncertaintyMs: 0, now: () => localNow() + offsetMs },
  });
  await subscribers.ready;
  send({ type: 'ready' });
}

async function stop(): Promise<void> {
  // Read before stopping, which is work of its own.
  // The histogram holds the time between its timer's turns, the resolution included:
  // the loop was late by what is past it.
  const late = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  send({ type: 'loop', p99Ms: late(loop.percentile(99)), maxMs: late(loop.max) });
  const report = subscribers ? await subscribers.stop() : { errors: 0, reconnects: 0 };
  flush();
  // Disconnected only once the report is written: the channel drops what it has not sent.
  process.send?.({ type: 'stopped', report } satisfies FromWorker, undefined, {}, () => process.disconnect());
}

process.on('message', (message: ToWorker) => {
  const fail = (error: unknown) =>
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  if (message.type === 'start') load(message).catch(fail);
  else if (message.type === 'connect') (connect?.() ?? Promise.reject(new Error('connect before start'))).catch(fail);
  else if (message.type === 'phase') loop.reset();
  else if (message.type === 'stop') stop().catch(fail);
});
// The parent is gone (it crashed, or was killed): nobody will read these clients.
process.on('disconnect', () => process.exit(0));
