/**
 * What each subscriber received, checked per (client, id): delivered, duplicated, out of
 * order, and the delivery delay of each first receipt. Every figure about correctness
 * and latency in the results comes from here.
 */

/** The fields of a feed message the bench reads. */
export interface FeedMessage {
  id: number;
  ts: number;
  author: string;
}

export interface LatencySummary {
  samples: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** `percentiles[k]` is the k-th percentile, k = 0..100: the CDF the charts draw. */
  percentiles: number[];
}

export interface DeliveryFigures {
  messagesDelivered: number;
  duplicates: number;
  outOfOrder: number;
  /** Messages from other publishers (someone else using the server during the run). */
  foreign: number;
  /** Messages the server said a client missed (a gap past its history). */
  gapsReported: number;
  payloadBytes: number;
  latencyMs: LatencySummary | null;
}

/** Where a driver reports what its subscribers receive; subscribers are numbered from 0. */
export interface DeliverySink {
  record(client: number, message: FeedMessage, delayMs: number, payloadBytes: number): void;
  gap(client: number, missed: number): void;
}

export class DeliveryTracker implements DeliverySink {
  readonly #author: string;
  /** Per subscriber, the group its delays are also summarized in (e.g. which server node); none by default. */
  readonly #groupOf: ((client: number) => string) | undefined;
  readonly #groupLatencies = new Map<string, number[]>();
  readonly #seen: Set<number>[];
  readonly #highest: number[];
  #latencies = new Float64Array(1024);
  #count = 0;
  #duplicates = 0;
  #outOfOrder = 0;
  #foreign = 0;
  #gaps = 0;
  #payloadBytes = 0;

  /** `author` marks the bench's own messages; `clients` is the number of subscribers. */
  constructor(author: string, clients: number, groupOf?: (client: number) => string) {
    this.#author = author;
    this.#groupOf = groupOf;
    this.#seen = Array.from({ length: clients }, () => new Set<number>());
    this.#highest = new Array<number>(clients).fill(0);
  }

  /**
   * Records one receipt. `delayMs` is the receipt time minus the message's `ts`, both on
   * the server's clock; `payloadBytes` the size of the message JSON as received.
   */
  record(client: number, message: FeedMessage, delayMs: number, payloadBytes: number): void {
    if (message.author !== this.#author) {
      this.#foreign += 1;
      return;
    }
    const seen = this.#seen[client];
    if (!seen) throw new Error(`subscriber ${client} does not exist`);
    if (seen.has(message.id)) {
      this.#duplicates += 1;
      return;
    }
    seen.add(message.id);
    this.#payloadBytes += payloadBytes;
    if (message.id < (this.#highest[client] ?? 0)) this.#outOfOrder += 1;
    else this.#highest[client] = message.id;
    if (this.#count === this.#latencies.length) {
      const grown = new Float64Array(this.#latencies.length * 2);
      grown.set(this.#latencies);
      this.#latencies = grown;
    }
    this.#latencies[this.#count++] = delayMs;
    if (this.#groupOf) {
      const group = this.#groupOf(client);
      let samples = this.#groupLatencies.get(group);
      if (!samples) {
        samples = [];
        this.#groupLatencies.set(group, samples);
      }
      samples.push(delayMs);
    }
  }

  /** A sink for a block of subscribers numbered from 0 that are subscribers `first`… here. */
  slice(first: number): DeliverySink {
    return {
      record: (client, message, delayMs, payloadBytes) => this.record(first + client, message, delayMs, payloadBytes),
      gap: (client, missed) => this.gap(first + client, missed),
    };
  }

  /** The delays of each group apart (empty without groups). */
  latencyByGroup(): Record<string, LatencySummary | null> {
    return Object.fromEntries(
      [...this.#groupLatencies].map(([group, samples]) => [group, summarize(Float64Array.from(samples))]),
    );
  }

  gap(_client: number, missed: number): void {
    this.#gaps += missed;
  }

  /** Distinct (client, id) pairs received so far. */
  get delivered(): number {
    return this.#count;
  }

  /** True when every client has every id in `ids`. */
  hasAll(ids: readonly number[]): boolean {
    return this.#seen.every((seen) => ids.every((id) => seen.has(id)));
  }

  figures(): DeliveryFigures {
    return {
      messagesDelivered: this.#count,
      duplicates: this.#duplicates,
      outOfOrder: this.#outOfOrder,
      foreign: this.#foreign,
      gapsReported: this.#gaps,
      payloadBytes: this.#payloadBytes,
      latencyMs: summarize(this.#latencies.subarray(0, this.#count)),
    };
  }
}

/** Exact percentiles (nearest rank) of the samples; null when there are none. */
export function summarize(samples: Float64Array): LatencySummary | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    samples: sorted.length,
    mean: round(sum / sorted.length),
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    percentiles: Array.from({ length: 101 }, (_, k) => round(k === 0 ? (sorted[0] ?? 0) : at(k))),
  };
}

/** Three decimals: microseconds, which is as fine as the clocks allow. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
