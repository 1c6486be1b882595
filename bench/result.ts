/**
 * The shape of `results.json` (`../shared/CONTRACT.md` § Bench, plus the fields this bench
 * adds, listed in docs/bench.md). `results.schema.json` says the same for validators.
 */
import type { LatencySummary } from './delivery.ts';
import type { AutocannonFigures, Prediction } from './drivers/driver.ts';
import type { BackplaneFigures } from './backplane.ts';
import type { NetworkOptions, RunNetwork } from './network/options.ts';
import type { ClientKind } from './options.ts';
import type { IntermediaryResult } from './network/verdict.ts';
import type { WsVariant } from './ws-variants.ts';
import type { Protocol } from './protocols/protocol.ts';
import type { ProtocolResult } from './protocols/run.ts';
import type { StrategiesResult } from './strategies/figures.ts';
import type { CrowdResult } from './crowd/bench.ts';
import type { PeersResult } from './peers/bench.ts';
import type { StormResult } from './storm/figures.ts';

export const SCHEMA_VERSION = 1;

export interface BytesSplit {
  requestHeaders: number;
  responseHeaders: number;
  /** Everything that is neither headers nor payload: envelopes, field names, frame headers, chunk lines, heartbeats. */
  framing: number;
  payload: number;
  total: number;
}

export interface TheoryCheck extends Prediction {
  measured: number;
  /** measured ÷ predicted. */
  ratio: number;
  agrees: boolean;
}

/** What a run published and what its subscribers got, checked per (client, id) by bench/delivery.ts. */
export interface DeliveryCounts {
  messagesPublished: number;
  /** Published × subscribers: what every subscriber was owed. */
  messagesExpected: number;
  messagesDelivered: number;
  /** Expected − delivered. */
  lost: number;
  duplicates: number;
  outOfOrder: number;
}

/**
 * Server memory per idle connection, from its settled memory (garbage collected first:
 * bench/server-process.ts, settledMemory) before the connections and with them open.
 */
export interface IdleMemory {
  /** Connections open and idle for the second reading. */
  clients: number;
  /** Compiled code and bytecode, before and with them: left out of the held figures (SettledMemory.codeBytes). */
  codeBeforeBytes: number;
  codeConnectedBytes: number;
  /** V8's heap in use plus Buffers' memory, less compiled code, before and with them. */
  heldBeforeBytes: number;
  heldConnectedBytes: number;
  /** (heldConnected − heldBefore) ÷ clients: what one connection holds. */
  perConnectionBytes: number;
  rssBeforeBytes: number;
  rssConnectedBytes: number;
  /** The same of VmRSS: noisier, as the allocator keeps or returns pages on its own time. */
  rssPerConnectionBytes: number;
}

export interface TechniqueResult extends DeliveryCounts {
  technique: string;
  clients: number;
  /** The servers' feed: one process's memory, or Redis (`unknown` with --url). */
  feed: 'memory' | 'redis' | 'unknown';
  /** Server processes sharing the feed; subscribers were spread over them in equal blocks. */
  nodes: number;
  /**
   * With several nodes: delays of the subscribers on the publisher's node, and on the
   * others (cross-node: the message went through Redis to another process).
   */
  latencyByNode?: { sameNode: LatencySummary | null; otherNodes: LatencySummary | null };
  /** The shaped network between subscribers and server (bench/network/); null: loopback as it is. */
  network?: RunNetwork | null;
  /** Which client the figures were measured with. */
  client: string;
  /** Node clients (the drivers') or headless Chromium pages running the demo page's clients. */
  clientKind: ClientKind;
  /**
   * With Node clients, for a technique that upgrades: how its frames went on the wire
   * (`json` text, the `msgpack` subprotocol's binary frames, or JSON with permessage-
   * `deflate`); --ws-variants runs one per variant. Absent for other runs.
   */
  wsVariant?: WsVariant;
  /**
   * With browser clients: Chromium's CPU time from the moment every page was connected to
   * the end of the run (every process of the browser the bench launched, from /proc), as
   * a share of one core, and whether it was the bottleneck; and the worst uncertainty of
   * the pages' own estimates of the server's clock, ms.
   */
  browser?: { cpuMs: number | null; cpuPercent: number | null; saturated: boolean; clockUncertaintyMs: number };
  /** Messages the server reported as missed past its history. */
  gapsReported: number;
  /** Messages from someone else's publishing during the run (with --url). */
  foreignMessages: number;
  httpRequests: number;
  httpRequestsPerMessage: number | null;
  bytes: BytesSplit;
  overheadBytesPerMessage: number | null;
  bytesPerMessage: number | null;
  bytesPerClientPerMinute: number;
  httpRequestsPerClientPerMinute: number;
  latencyMs: LatencySummary | null;
  /**
   * Time to first message, ms: the median over a few fresh clients of the technique,
   * opened after the run through the same network, from starting to connect to holding a
   * message already waiting (bench/network/first-message.ts). Null when any probe got
   * nothing in time; absent for browser clients, under --chaos and behind an intermediary.
   */
  firstMessageMs?: number | null;
  /** Each probe's time to first message, ms (null: nothing arrived in time). */
  firstMessageProbesMs?: (number | null)[];
  /**
   * The server process during this run (null with --url): CPU time (user + system), as a
   * share of one core over the run, its resident memory when subscribers began to connect,
   * and the peak sampled every 100 ms until they were gone; and the
   * MAX_CONNECTIONS_PER_ADDRESS the bench started it with (every bench client is 127.0.0.1).
   */
  server: {
    cpuMs: number;
    cpuPercent: number;
    maxRssBytes: number;
    rssAtStartBytes: number;
    maxConnectionsPerAddress?: number;
    /**
     * The server's resident memory growth per subscriber, bytes: once every subscriber
     * was connected and idle (nothing published yet), and after the last delivery with
     * every connection still open (what sending left each one holding, such as zlib
     * contexts). One RSS reading each, so a garbage collection in between shows as noise.
     */
    rssPerConnectionBytes?: { connected: number; afterDelivery: number };
  } | null;
  bench: { cpuMs: number; cpuPercent: number; eventLoopDelayP99Ms: number; saturated: boolean };
  subscriberErrors: number;
  /** Times a subscriber opened a new connection after one ended or broke. */
  reconnects: number;
  /** With --chaos: connections the fault proxy cut, and how often it cut one. */
  chaos: { cuts: number; everyMs: number } | null;
  /** autocannon's figures for the subscribers, when autocannon drove them. */
  autocannon: AutocannonFigures | null;
  publisher: (AutocannonFigures & { achievedRate: number }) | null;
  /** How long subscribers were connected, and how long publishing took, ms. */
  subscribedMs: number;
  publishWindowMs: number;
  theory: TheoryCheck[];
  /** With --intermediary: what stood between the subscribers and the server, and what became of the technique behind it. */
  intermediary?: IntermediaryResult;
  warnings: string[];
}

export interface BenchResult {
  schemaVersion: number;
  config: {
    scenario: string;
    techniques: string[];
    /** A number, or an array for a sweep. */
    clients: number | number[];
    rate: number;
    durationSec: number;
    payloadBytes: number;
    pollIntervalMs: number;
    url: string | null;
    chaos: boolean;
    /** The feeds the runs used, in order (empty with --url). */
    feeds: string[];
    nodes: number;
    /** --rtt, --bandwidth, --loss, --network; null when none was given (no shaper). */
    network?: NetworkOptions | null;
    /** The kinds of subscribers, each technique run once per kind. */
    clientKinds: ClientKind[];
    /** With --intermediary: the intermediaries named, each run after the direct baseline (`none`). */
    intermediaries?: string[];
    /** The WebSocket variants each upgrading technique ran in (--ws-variants; default json). */
    wsVariants?: WsVariant[];
    /**
     * With --http/--tls: the protocols each technique ran over (bench/protocols/); the
     * runs are in `protocols`, and `techniques` is empty. Absent: plain HTTP/1.1, autocannon.
     */
    protocols?: Protocol[];
  };
  environment: {
    node: string;
    platform: string;
    arch: string;
    osRelease: string;
    cpus: number;
    cpuModel: string;
    totalMemoryBytes: number;
    loadAverage: number[];
    autocannon: string;
    /** The Chromium that ran the browser clients, when any did. */
    browser?: string;
    server: string;
    /** Where the Redis came from, when a run used one. */
    redis: string | null;
    startedAt: string;
    finishedAt: string;
  };
  techniques: TechniqueResult[];
  /** When a run used Redis: the publish rate it sustained, measured after the runs. */
  backplane: BackplaneFigures | null;
  /** With --http/--tls: each technique over each protocol, measured with the bench's own clients. */
  protocols?: ProtocolResult[];
  /**
   * With --strategies: the auto client's strategies, each under each block set, in
   * Chromium pages (bench/strategies/); `techniques` is then empty.
   */
  strategies?: StrategiesResult;
  /**
   * With --crowd: each technique at each client count, realtime-lab beside the bare
   * broadcast server (bench/crowd/); `techniques` is then empty.
   */
  crowd?: CrowdResult;
  /**
   * With --peers: realtime-lab's techniques beside the established libraries' servers,
   * family by family (bench/peers/); `techniques` is then empty.
   */
  peers?: PeersResult;
  /**
   * With --storm: each technique's reconnect storm, with and without jitter (bench/storm/);
   * `techniques` is then empty.
   */
  storm?: StormResult;
  warnings: string[];
}
