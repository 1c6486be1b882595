/**
 * What the bench needs from each technique: a way to start N real subscribers against a
 * server, and the simple model that predicts what they should cost. One file per
 * technique in this folder, `<id>.ts` exporting `driver`, found by `index.ts` from the
 * registry (server/contract/techniques.js), as `server/transports/` are.
 */
import { reconnectDelay } from '../../server/contract/backoff.js';
import { cursorQuery } from '../../server/contract/feed.js';
import type { Prediction as ContractPrediction } from '../../server/contract/models.js';
import type { ClientStats, WireCounters } from '../../server/contract/stats.js';
import type { Technique } from '../../server/contract/techniques.js';
import type { Clock } from '../clock.ts';
import type { NetworkConditions } from '../network/shaper.ts';
import type { DeliverySink } from '../delivery.ts';
import type { WsVariant } from '../ws-variants.ts';

export interface SubscribeContext {
  /**
   * The technique subscribed to, from the registry: a driver reads its id and path from
   * here rather than naming its own, so a copy of a driver under another id works as is.
   */
  technique: Technique;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string;
  /** Sent as `?client=` on every request, so the server counts these subscribers apart. */
  clientId: string;
  clients: number;
  /** The cursor every subscriber starts from: the feed's last id before the run. */
  since: number;
  /**
   * The epoch of the feed `since` counts in, from `/api/health`; every subscriber sends
   * it with its cursor and takes a new one from a reset. Undefined for a server that
   * names no epoch.
   */
  epoch: string | undefined;
  pollIntervalMs: number;
  tracker: DeliverySink;
  clock: Clock;
  /** For a technique that upgrades: the variant to speak (bench/ws-variants.ts); absent: plain JSON. */
  wsVariant?: WsVariant;
  /**
   * False: every reconnect waits the backoff's base delay exactly, so clients cut together
   * retry together (the reconnect storm's run without jitter). Absent or true: the
   * contract's jitter, as the pages do.
   */
  reconnectJitter?: boolean;
}

/** autocannon's own figures, kept as it reported them. */
export interface AutocannonFigures {
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** autocannon's latency: for the publisher, the time to the 201; for pollers, each request's time. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
}

export interface SubscriberReport {
  /** Non-2xx answers and other failures the subscribers saw (a broken connection is a reconnect, not an error). */
  errors: number;
  /** Times a subscriber opened a new connection after its previous one ended or broke. */
  reconnects: number;
  autocannon?: AutocannonFigures;
}

export interface Subscribers {
  /** Resolves once every subscriber is connected and waiting for messages. */
  ready: Promise<void>;
  /** Disconnects every subscriber. */
  stop(): Promise<SubscriberReport>;
}

/** What a model is given: the run as it actually happened (the contract's `ModelInput`, with the bench's network and variant types). */
export interface ModelInput {
  clients: number;
  /** The ids the publisher got back, in order. */
  publishedIds: readonly number[];
  /** Publishing time, ms: first 201 to last 201 (0 when nothing was published). */
  publishWindowMs: number;
  /** How long the subscribers were connected, ms. */
  subscribedMs: number;
  pollIntervalMs: number;
  /** Mean size of a delivered message's JSON, bytes. */
  payloadBytesPerMessage: number;
  /** The feed's epoch (written with every SSE id and in each stream's opening event); '' when the server names none. */
  epoch: string;
  /** The shaped network between subscribers and server; null: loopback, no shaper. */
  network: NetworkConditions | null;
  /** The WebSocket variant of the run, for a technique that upgrades; absent: plain JSON. */
  wsVariant?: WsVariant;
}

/** One prediction and its tolerance: the contract's models (server/contract/models.js) make them. */
export type Prediction = ContractPrediction;

/** What `bench/drivers/<id>.ts` exports as `driver`; its technique is the registry line of that id. */
export interface BenchDriver {
  /** Which client the figures were measured with. */
  client: string;
  subscribe(context: SubscribeContext): Subscribers;
  predict(input: ModelInput): Prediction[];
}

/** The query string every subscriber sends: its cursor, the cursor's epoch (when known) and its client id. */
export function subscriberQuery(
  context: SubscribeContext,
  cursor: number,
  epoch: string | undefined,
  extra = '',
): string {
  return cursorQuery({ cursor, epoch, client: context.clientId }) + extra;
}

/**
 * First connections a driver has under way at once: each next one starts as one before it
 * is answered. Thousands opened in the same millisecond overflow the server's accept queue
 * (Node listens with a backlog of 511), and the kernel then drops connections it let the
 * client think were open, reset a minute later: a run that measures the server would
 * measure its queue's overflow instead. Clients that arrive together are the reconnect
 * storm's subject (bench/storm/), not every run's start.
 */
export const FIRST_CONNECTS_IN_FLIGHT = 100;

/**
 * The wait before a subscriber's retry number `attempt` (0 first), ms: the contract's
 * backoff, jittered unless the context turns jitter off (the random factor's midpoint,
 * 0.5, gives the base delay itself).
 */
export function reconnectWait(context: SubscribeContext, attempt: number): number {
  return context.reconnectJitter === false ? reconnectDelay(attempt, () => 0.5) : reconnectDelay(attempt);
}

/** The path of a technique's endpoint on the server. */
export function endpointOf(technique: Technique): string {
  return `/api/${technique.id}`;
}

/** The server's socket counts for the requests that named `clientId`, per technique (none yet: empty). */
export async function fetchClientStats(baseUrl: string, clientId: string): Promise<Record<string, WireCounters>> {
  const response = await fetch(`${baseUrl}/api/stats?client=${encodeURIComponent(clientId)}`);
  const body = (await response.json()) as Partial<ClientStats>;
  return body.techniques ?? {};
}
