/**
 * What a subscriber worker (worker.ts) and its parent (subscribe.ts) say to each other
 * over the IPC channel (advanced serialization, so typed arrays travel as they are).
 * Deliveries go up in batches: one message per receipt would be 100,000 IPC messages for
 * 10,000 clients and 10 publishes.
 */
import type { SubscriberReport } from '../drivers/driver.ts';
import type { WorkerSubscribeOptions } from './subscribe.ts';

/**
 * The parent's first message: the options of `subscribeInWorkers` for this worker's slice
 * (`clients` numbered from 0 here; the parent adds the slice's first number), its jitter
 * settled.
 */
export interface WorkerStart extends Omit<WorkerSubscribeOptions, 'workers' | 'reconnectJitter'> {
  type: 'start';
  reconnectJitter: boolean;
}

/** Sent to every worker once all have loaded their driver: the clients connect together, timed from here. */
export interface WorkerConnect {
  type: 'connect';
}

/** The start of the phase a worker's event-loop delay is measured over (it is reset). */
export interface WorkerPhase {
  type: 'phase';
}

export interface WorkerStop {
  type: 'stop';
}

export type ToWorker = WorkerStart | WorkerConnect | WorkerPhase | WorkerStop;

/** Values per receipt in `WorkerDeliveries.receipts`: client, id, ts, delay ms, payload bytes, author index. */
export const RECEIPT_FIELDS = 6;

/** A batch of receipts; `authors` names the authors the receipts point at by index. */
export interface WorkerDeliveries {
  type: 'deliveries';
  receipts: Float64Array;
  authors: string[];
  /** Pairs of (client, missed): the gaps the server reported. */
  gaps: Float64Array;
}

export type FromWorker =
  | WorkerDeliveries
  | { type: 'loaded' }
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'loop'; p99Ms: number; maxMs: number }
  | { type: 'stopped'; report: SubscriberReport };
