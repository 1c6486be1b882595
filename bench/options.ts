/**
 * The bench's command line: the flags of the contract, named scenarios (presets the flags
 * then override), and a check of every value before anything starts. A bad value is a
 * `UsageError`: the CLI prints its message and exits 2.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { techniqueById, techniqueIds, techniques as registry } from '../server/contract/techniques.js';
import { flagsNotWith } from './run-kinds.ts';
import { NETWORK_FLAGS, NETWORK_HELP, type NetworkOptions, parseNetworkOptions } from './network/options.ts';
import { BROWSER_CLIENTS_MAX } from './browser/capacity.ts';
import { chromiumMissing } from './browser/chromium.ts';
import { INTERMEDIARIES, type IntermediarySpec, parseIntermediaries } from './network/intermediaries.ts';
import { type Protocol, protocolsOf } from './protocols/protocol.ts';
import {
  CROWD_DURATION_SEC,
  CROWD_FLAGS,
  CROWD_HELP,
  CROWD_RATE,
  type CrowdOptions,
  crowdTechniqueIds,
  parseCrowdOptions,
} from './crowd/options.ts';
import {
  type BlockSet,
  STRATEGIES,
  type Strategy,
  blockSetLabel,
  defaultBlockSets,
  parseBlockSets,
  parseStrategies,
} from './strategies/cases.ts';
import { PEER_NAMES, type PeerName, type PeersSelection } from './peers/names.ts';
import { DEFAULT_WS_VARIANTS, WS_VARIANT_SUMMARIES, type WsVariant, parseWsVariants } from './ws-variants.ts';

export interface BenchOptions {
  scenario: string;
  techniques: string[];
  /** One client count, or several for a sweep (`--clients 10,100,1000`). */
  clients: number[];
  /** Messages per second the publisher sends; 0 publishes nothing (the idle scenario). */
  rate: number;
  durationSec: number;
  /** Size in bytes of each message's JSON as delivered (the text is padded to fit). */
  payloadBytes: number;
  pollIntervalMs: number;
  /** Measure this running server instead of starting one per technique. */
  url: string | null;
  out: string;
  json: boolean;
  /** Put a fault proxy between subscribers and server and cut connections at random. */
  chaos: boolean;
  /**
   * The feeds to run each technique on, in order: `memory`, `redis` (a private
   * redis-server the bench starts) or a `redis://` URL. Several run side by side.
   */
  feeds: string[];
  /** Server processes per run, on one Redis; subscribers are spread over them, the publisher uses the first. */
  nodes: number;
  /** Shaped conditions between subscribers and server (bench/network/); null: loopback as it is. */
  network: NetworkOptions | null;
  /**
   * Who the subscribers are: Node clients (the drivers'), headless Chromium pages running
   * the demo page's clients, or both, each technique run once per kind, in this order.
   */
  clientKinds: ClientKind[];
  /** Put each technique behind each of these (after a direct run); empty: direct only. */
  intermediaries: IntermediarySpec[];
  /**
   * The variants each technique that upgrades runs in, in order (json, msgpack, deflate);
   * default json only. Node clients only: browser runs use what the page does.
   */
  wsVariants: WsVariant[];
  /**
   * With --http/--tls: the protocols of the protocol comparison (bench/protocols/), which
   * runs instead of the autocannon runs; null: plain HTTP/1.1 with autocannon (the default).
   */
  protocols: Protocol[] | null;
  /**
   * With --strategies: the auto client's strategies to run in Chromium, each under each
   * of `blockSets`, instead of the techniques; null: the techniques' runs.
   */
  strategies: Strategy[] | null;
  /** The block sets each strategy runs under (--blocks; defaults from capabilities). */
  blockSets: BlockSet[];
  /** With --storm: the reconnect storm (bench/storm/) of each technique, instead of its runs. */
  storm: boolean;
  /**
   * With --crowd: the client counts and worker processes of the crowd run (bench/crowd/),
   * which runs instead of the autocannon runs; null otherwise.
   */
  crowd: CrowdOptions | null;
  /**
   * With --peers: the established libraries' servers to run beside the techniques
   * (bench/peers/), and the idle connections of the memory figure; null: no peers run.
   */
  peers: PeersSelection | null;
}

/** Node clients (autocannon, node:http, ws) or Chromium pages running the pages' own clients. */
export type ClientKind = 'node' | 'browser';
export const CLIENT_KINDS: readonly ClientKind[] = ['node', 'browser'];

export class UsageError extends Error {}

interface Scenario {
  summary: string;
  clients: number[];
  rate: number;
  durationSec: number;
  payloadBytes: number;
  pollIntervalMs: number;
}

/** Named presets. Every flag given on the command line overrides the preset's value. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = Object.freeze({
  chat: {
    summary: 'a busy chat room: 100 clients, 20 msg/s (the default)',
    clients: [100],
    rate: 20,
    durationSec: 8,
    payloadBytes: 100,
    pollIntervalMs: 1000,
  },
  ticker: {
    summary: 'a price ticker: few clients, 200 msg/s',
    clients: [20],
    rate: 200,
    durationSec: 8,
    payloadBytes: 80,
    pollIntervalMs: 1000,
  },
  idle: {
    summary: 'nothing happens for 32 s: what waiting costs (heartbeats, polls, long-poll timeouts)',
    clients: [100],
    rate: 0,
    durationSec: 32,
    payloadBytes: 100,
    pollIntervalMs: 1000,
  },
  crowd: {
    summary: 'many quiet clients: 1,000 clients, 5 msg/s',
    clients: [1000],
    rate: 5,
    durationSec: 10,
    payloadBytes: 100,
    pollIntervalMs: 1000,
  },
});

export const DEFAULT_SCENARIO = 'chat';
/** Where results go by default: the repo's results/latest/, whatever the working directory (the server shows it at /results/). */
export const DEFAULT_OUT = fileURLToPath(new URL('../results/latest/', import.meta.url));

/** Auto clients per case when --clients is not given: a few pages, on a 2-core machine. */
export const STRATEGY_CLIENTS_DEFAULT = 3;

/** A --storm's clients when --clients is not given, and the most it runs (one socket each, spread over processes). */
export const STORM_CLIENTS_DEFAULT = 10_000;
export const STORM_CLIENTS_MAX = 10_000;
/**
 * A --storm's publishing rate when --rate is not given: messages before, during and after
 * the restart, at the crowd's 1/s. At 5/s, 10,000 WebSocket clients are 50,000 writes a
 * second on top of the handshakes, and on 2 cores the restarted server did not take them
 * all back within the run's 75 s (docs/bench.md, "Reconnect storm").
 */
export const STORM_RATE_DEFAULT = 1;
/**
 * A --storm's techniques when --techniques is not given: the streams of the two wire
 * formats the established libraries put side by side, the event stream and WebSocket.
 */
export function defaultStormTechniques(): string[] {
  return registry
    .filter((t) => t.capabilities.streams && ['event-stream', 'websocket'].includes(t.wire))
    .map((t) => t.id);
}
/** --peers' own defaults where the flags say nothing: ~5 s of publishing per row, then 1,000 idle connections. */
export const PEERS_DEFAULTS = Object.freeze({ clients: 100, rate: 20, durationSec: 5, idleClients: 1000, rounds: 1 });
/** At most this many rounds of a --peers run: each is all its rows again. */
export const MAX_PEER_ROUNDS = 9;

/** Limits that keep a run on one machine bounded; past them the bench refuses to start. */
export const LIMITS = Object.freeze({
  clients: 5000,
  rate: 2000,
  durationSec: 600,
  /** The server's default text limit is 4 KiB; the JSON around the text adds ~70 bytes. */
  payloadBytes: 4096,
  pollIntervalMs: 60_000,
  nodes: 8,
});

/** The smallest message the padding can produce: `{"id":…,"ts":…,"author":"bench-…","text":"x"}`. */
export const MIN_PAYLOAD_BYTES = 80;

export const HELP = `Usage: npm run bench -- [options]

Runs publishers and subscribers against realtime-lab for each technique and measures what
each one costs: messages delivered, lost, duplicated, HTTP requests, bytes on the wire
(headers, framing, payload), delivery delay, server CPU and memory.

Options:
  --scenario NAME       a preset: ${Object.keys(SCENARIOS).join(', ')} (default ${DEFAULT_SCENARIO})
  --techniques IDS      comma-separated technique ids, or all (the default)
                        ${techniqueIds.join(', ')}
  --clients N[,N...]    subscribers per technique; several values run a sweep
  --rate MSG_PER_S      messages published per second (0: none)
  --duration S          seconds of publishing per technique
  --payload BYTES       size of each message's JSON (${MIN_PAYLOAD_BYTES}..${LIMITS.payloadBytes})
  --poll-interval MS    short polling's interval
  --url URL             measure a running server (default: start one per technique,
                        which also measures its CPU and memory)
  --out DIR             where results go (default results/latest, shown at /results/)
  --json                print results.json to stdout and nothing else there
  --chaos               cut subscriber connections at random (through a fault proxy)
                        while publishing: the result must still show lost 0, dup 0
  --feed FEEDS          the servers' feed: memory (default), redis (a private
                        redis-server the bench starts and stops) or a redis:// URL;
                        a list such as memory,redis runs both and reports what the
                        Redis backplane adds to each delivery
  --browser             the subscribers are headless Chromium pages (Debian's chromium),
                        one per client, each running the demo page's own client of
                        the technique (up to ${BROWSER_CLIENTS_MAX} clients; see docs/bench.md)
  --client-kinds KINDS  node (default), browser, or node,browser: each technique once
                        per kind, side by side in the table and a chart
  --nodes N             server processes on one Redis (1..${LIMITS.nodes}, default 1); subscribers
                        are spread over them, the publisher sends to the first, and
                        delays are reported apart for the other nodes (cross-node).
                        A memory feed in the list still runs on one node, as the
                        baseline; without --feed, --nodes 2 means --feed redis
${NETWORK_HELP}
  --intermediary NAMES  run each technique direct, then behind each of these between
                        subscribers and server (NAME or NAME=VALUE, comma-separated):
${Object.entries(INTERMEDIARIES)
  .filter(([name]) => name !== 'none')
  .map(
    ([name, i]) =>
      `                          ${name}${i.default === null ? '' : `[=${i.unit}]`}: ${i.summary}${i.default === null ? '' : ` (default ${i.default})`}`,
  )
  .join('\n')}
  --ws-variants NAMES   run each technique that upgrades once per variant,
                        comma-separated (default json), with Node clients:
${Object.entries(WS_VARIANT_SUMMARIES)
  .map(([name, summary]) => `                          ${name}: ${summary}`)
  .join('\n')}
  --http VERSIONS       1.1 (default) or 2, or 1.1,2 for both in one run: each
                        technique over each protocol, measured with the bench's own
                        clients (node:http, node:http2, ws on sockets it makes and
                        counts; autocannon speaks HTTP/1.1 only): bytes on the wire
                        and in plain text per message, header bytes of the first poll
                        on a connection vs the following ones (HPACK), the TLS
                        handshake, connections, server CPU. 2 is HTTP/2 over TLS (as
                        browsers speak it), each technique with a session per client
                        and with every client a stream of one session; WebSocket
                        still goes over an HTTP/1.1 Upgrade (wss://: no RFC 8441)
  --tls                 HTTP/1.1 over TLS too (beside plain HTTP/1.1 with --http 1.1):
                        what TLS costs. The server gets TLS=1 and a development
                        certificate the bench makes in a temp dir and trusts alone
  --strategies NAMES    instead of the techniques, run the auto client (the auto
                        panel's) in Chromium pages: ${STRATEGIES.join(', ')} or all,
                        each under each block set of --blocks, ${STRATEGY_CLIENTS_DEFAULT} clients by default
                        (at most ${BROWSER_CLIENTS_MAX}); measures time to connect and to the first
                        message, messages delayed by a switch and lost (must be 0:
                        the run fails otherwise), duplicates dropped, bytes of failed
                        attempts, and where each client landed
  --storm               instead of the techniques' runs, a reconnect storm: --clients
                        subscribers (default ${STORM_CLIENTS_DEFAULT}, at most ${STORM_CLIENTS_MAX}) of each
                        streaming technique (default ${defaultStormTechniques().join(', ')}) on a server
                        with a Redis feed, which is killed and restarted on the same
                        port; they come back with the contract's backoff, once with
                        its jitter and once without. Measures the new server's
                        requests per second, refusals and retries, the time until
                        every client holds a message published after the kill, and
                        every message delivered exactly once (the run fails otherwise);
                        --rate (default ${STORM_RATE_DEFAULT}) is the publishing rate throughout
  --blocks SETS         what the server refuses or buffers for each auto client:
                        comma-separated sets, each none or ID=refuse|buffer joined
                        by + (buffer: techniques that hold a request). Default:
                        ${defaultBlockSets().map(blockSetLabel).join(',')}
${CROWD_HELP}
  --peers               instead of the techniques' runs, set realtime-lab's techniques
                        (by family: WebSocket, SSE, streaming HTTP, polling) beside
                        small servers built on the established libraries, each in its
                        own process, measured with their own clients: wire bytes per
                        message, delay p50/p90/p99, server CPU per message, memory per
                        idle connection (default ${PEERS_DEFAULTS.clients} clients, ${PEERS_DEFAULTS.rate} msg/s, ${PEERS_DEFAULTS.durationSec} s per row;
                        --techniques, --clients, --rate, --duration, --payload apply)
  --peer-names NAMES    the peers of --peers, comma-separated (default all):
${wrapped(PEER_NAMES, '                        ')}
  --idle-clients N      connections held idle per row for --peers' memory figure
                        (0..${LIMITS.clients}, default ${PEERS_DEFAULTS.idleClients}; 0 leaves memory out)
  --peer-rounds N       runs every --peers row N times, the rows of a round one after
                        the other, and gives each figure's median (1..${MAX_PEER_ROUNDS}, default
                        ${PEERS_DEFAULTS.rounds}): a busy moment then weighs on one round of every row
  -h, --help            this text

Scenarios:
${Object.entries(SCENARIOS)
  .map(
    ([name, s]) =>
      `  ${name.padEnd(8)} ${s.summary}\n           (--clients ${s.clients.join(',')} --rate ${s.rate} --duration ${s.durationSec} --payload ${s.payloadBytes} --poll-interval ${s.pollIntervalMs})`,
  )
  .join('\n')}

Writes DIR/results.json, DIR/summary.md, DIR/*.png and DIR/index.html.
Examples:
  npm run bench
  npm run bench -- --scenario idle --techniques ${techniqueIds.slice(-2).join(',')}
  npm run bench -- --clients 10,100,1000 --duration 5 --out results/sweep
  npm run bench -- --feed memory,redis --nodes 2
  npm run bench -- --rtt 0,50,200 --duration 4
  npm run bench -- --client-kinds node,browser --clients 5 --duration 4
  npm run bench -- --intermediary buffering,strip-upgrade,idle-cut=10,nginx --clients 10
  npm run bench -- --ws-variants json,msgpack,deflate --clients 50
  npm run bench -- --http 1.1,2 --tls --clients 20 --rate 20 --duration 3
  npm run bench -- --strategies all --duration 4 --out results/fallback
  npm run bench -- --crowd 1000,2000,5000,10000 --out results/crowd
  npm run bench -- --peers --out results/peers
  npm run bench -- --storm --out results/storm
`;

/** `words`, comma-separated, in lines of at most 80 characters, each after `indent`. */
function wrapped(words: readonly string[], indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const [i, word] of words.entries()) {
    const item = i < words.length - 1 ? `${word},` : word;
    if (line !== '' && indent.length + line.length + 1 + item.length > 80) {
      lines.push(line);
      line = item;
    } else line = line === '' ? item : `${line} ${item}`;
  }
  lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}

/** The flags, as node:util's parseArgs reads them. */
const FLAGS = {
  scenario: { type: 'string' },
  techniques: { type: 'string' },
  clients: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  payload: { type: 'string' },
  'poll-interval': { type: 'string' },
  url: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  chaos: { type: 'boolean' },
  feed: { type: 'string' },
  nodes: { type: 'string' },
  browser: { type: 'boolean' },
  'client-kinds': { type: 'string' },
  intermediary: { type: 'string' },
  'ws-variants': { type: 'string' },
  http: { type: 'string' },
  tls: { type: 'boolean' },
  strategies: { type: 'string' },
  blocks: { type: 'string' },
  peers: { type: 'boolean' },
  'peer-names': { type: 'string' },
  'idle-clients': { type: 'string' },
  'peer-rounds': { type: 'string' },
  storm: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...NETWORK_FLAGS,
  ...CROWD_FLAGS,
} as const;

/** Parses argv (without node and the script); returns null when help was asked for. */
export function parseOptions(argv: readonly string[]): BenchOptions | null {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true; allowPositionals: false }>>;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: FLAGS });
  } catch (error) {
    // node:util's messages name the flag ("Unknown option '--clent'"); keep them.
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return null;

  const scenarioName = values.scenario ?? DEFAULT_SCENARIO;
  const scenario = SCENARIOS[scenarioName];
  if (!scenario)
    throw new UsageError(
      `--scenario: unknown scenario ${JSON.stringify(scenarioName)}; known: ${Object.keys(SCENARIOS).join(', ')}`,
    );

  const crowd = parseCrowdOptions(values, (message) => {
    throw new UsageError(message);
  });
  const known: readonly string[] = techniqueIds;
  let techniques = crowd ? crowdTechniqueIds() : [...known];
  // `all` is the default said out loud.
  if (values.techniques !== undefined && values.techniques !== 'all') {
    techniques = list('--techniques', values.techniques);
    for (const id of techniques) {
      if (!known.includes(id))
        throw new UsageError(`--techniques: unknown technique ${JSON.stringify(id)}; known: ${known.join(', ')}`);
    }
    if (new Set(techniques).size !== techniques.length)
      throw new UsageError('--techniques: a technique is listed twice');
  }

  const strategies = strategiesOf(values);
  const peers = peersOf(values);
  const storm = values.storm ?? false;
  if (storm) techniques = stormTechniques(values, techniques);
  const clients =
    values.clients === undefined
      ? strategies
        ? [STRATEGY_CLIENTS_DEFAULT]
        : storm
          ? [STORM_CLIENTS_DEFAULT]
          : peers && values.scenario === undefined
            ? [PEERS_DEFAULTS.clients]
            : scenario.clients
      : list('--clients', values.clients).map((v) =>
          integer('--clients', v, 1, storm ? STORM_CLIENTS_MAX : LIMITS.clients),
        );
  if (storm && clients.length > 1) throw new UsageError('--storm runs one client count: give --clients one number');
  if (new Set(clients).size !== clients.length) throw new UsageError('--clients: a client count is listed twice');

  const nodes = values.nodes === undefined ? 1 : integer('--nodes', values.nodes, 1, LIMITS.nodes);
  const feeds = values.feed === undefined ? [nodes > 1 ? 'redis' : 'memory'] : list('--feed', values.feed).map(feed);
  if (new Set(feeds).size !== feeds.length) throw new UsageError('--feed: a feed is listed twice');
  if (values.url !== undefined && (values.feed !== undefined || values.nodes !== undefined)) {
    throw new UsageError(
      '--feed and --nodes set up the servers the bench starts; with --url it measures a running one as it is',
    );
  }
  if (nodes > 1 && feeds.every((f) => f === 'memory'))
    throw new UsageError("--nodes: several nodes share a feed through Redis; --feed memory is one process's own");
  if (values.chaos && nodes > 1)
    throw new UsageError('--chaos runs on one node: its fault proxy sits in front of one server');
  const clientKinds = strategies
    ? (['browser'] as ClientKind[])
    : kindsOf(values.browser ?? false, values['client-kinds']);
  if (strategies && clients.length > 1)
    throw new UsageError('--strategies runs one client count: the cases are the sweep');
  if (clientKinds.includes('browser')) {
    const missing = chromiumMissing();
    if (missing) throw new UsageError(missing);
    const most = Math.max(...clients);
    if (most > BROWSER_CLIENTS_MAX)
      throw new UsageError(
        `--clients: ${most} browser clients is more than this bench runs (at most ${BROWSER_CLIENTS_MAX}: one Chromium page each, on this machine's cores)`,
      );
  }

  let intermediaries: IntermediarySpec[] = [];
  if (values.intermediary !== undefined) {
    try {
      intermediaries = parseIntermediaries(values.intermediary);
    } catch (error) {
      throw new UsageError(`--intermediary: ${(error as Error).message}`);
    }
    if (values.chaos || nodes > 1)
      throw new UsageError('--intermediary stands in front of one server; --chaos and --nodes are runs of their own');
  }

  let wsVariants = [...DEFAULT_WS_VARIANTS];
  if (values['ws-variants'] !== undefined) {
    try {
      wsVariants = parseWsVariants(values['ws-variants']);
    } catch (error) {
      throw new UsageError(`--ws-variants: ${(error as Error).message}`);
    }
    if (intermediaries.length > 0 && wsVariants.join() !== DEFAULT_WS_VARIANTS.join())
      throw new UsageError(
        '--ws-variants and --intermediary are runs of their own: each intermediary is judged against one direct run',
      );
    if (values.url !== undefined && wsVariants.includes('deflate'))
      throw new UsageError(
        '--ws-variants deflate starts its server with WS_PERMESSAGE_DEFLATE=1; with --url the server is as it was started',
      );
  }

  const protocols = protocolsFrom(values.http, values.tls ?? false, {
    others:
      values.url !== undefined ||
      values.chaos ||
      nodes > 1 ||
      feeds.some((f) => f !== 'memory') ||
      clientKinds.includes('browser') ||
      intermediaries.length > 0 ||
      values['ws-variants'] !== undefined ||
      Object.keys(NETWORK_FLAGS).some((flag) => (values as Record<string, unknown>)[flag] !== undefined),
    sweep: clients.length > 1,
  });

  return {
    scenario: scenarioName,
    techniques,
    clients,
    rate:
      values.rate === undefined
        ? storm
          ? STORM_RATE_DEFAULT
          : crowd
            ? CROWD_RATE
            : peers && values.scenario === undefined
              ? PEERS_DEFAULTS.rate
              : scenario.rate
        : integer('--rate', values.rate, storm || crowd || peers ? 1 : 0, LIMITS.rate),
    durationSec:
      values.duration === undefined
        ? crowd
          ? CROWD_DURATION_SEC
          : peers && values.scenario === undefined
            ? PEERS_DEFAULTS.durationSec
            : scenario.durationSec
        : number('--duration', values.duration, 1, LIMITS.durationSec),
    payloadBytes:
      values.payload === undefined
        ? scenario.payloadBytes
        : integer('--payload', values.payload, MIN_PAYLOAD_BYTES, LIMITS.payloadBytes),
    pollIntervalMs:
      values['poll-interval'] === undefined
        ? scenario.pollIntervalMs
        : integer('--poll-interval', values['poll-interval'], 50, LIMITS.pollIntervalMs),
    url: values.url === undefined ? null : url(values.url),
    out: values.out ?? DEFAULT_OUT,
    json: values.json ?? false,
    chaos: values.chaos ?? false,
    feeds,
    nodes,
    network: parseNetworkOptions(values, (message) => {
      throw new UsageError(message);
    }),
    clientKinds,
    intermediaries,
    wsVariants,
    protocols,
    strategies,
    blockSets: values.blocks === undefined ? defaultBlockSets() : blockSetsOf(values.blocks),
    crowd,
    peers,
    storm,
  };
}

/** The flags that set up other kinds of run, which a --storm has none of. */
const NOT_WITH_STORM = flagsNotWith('storm');

/** --storm's techniques: the default pair, or those named, each of which must stream (a held connection to cut, and a backoff to come back with). */
function stormTechniques(values: Record<string, unknown>, named: string[]): string[] {
  const conflicting = NOT_WITH_STORM.find((flag) => values[flag] !== undefined);
  if (conflicting)
    throw new UsageError(
      `--storm restarts a server of its own on a private Redis, with Node clients; --${conflicting} is a run of its own`,
    );
  if (values.techniques === undefined || values.techniques === 'all') return defaultStormTechniques();
  const holdsNone = named.filter((id) => !techniqueById(id)?.capabilities.streams);
  if (holdsNone.length > 0)
    throw new UsageError(
      `--storm: ${holdsNone.join(', ')} does not stream (no connection held to cut); streaming techniques: ${registry
        .filter((t) => t.capabilities.streams)
        .map((t) => t.id)
        .join(', ')}`,
    );
  return named;
}

/** The flags that set up the techniques' other runs, which a --peers run has none of. */
const NOT_WITH_PEERS = flagsNotWith('peers');

function peersOf(values: Record<string, unknown>): PeersSelection | null {
  if (!values.peers) {
    const stray = ['peer-names', 'idle-clients', 'peer-rounds'].find((flag) => values[flag] !== undefined);
    if (stray) throw new UsageError(`--${stray} sets up a --peers run; add --peers`);
    return null;
  }
  const conflicting = NOT_WITH_PEERS.find((flag) => values[flag] !== undefined);
  if (conflicting)
    throw new UsageError(
      `--peers runs each technique and each peer on a fresh local server with Node clients; --${conflicting} is for another kind of run`,
    );
  if (typeof values.clients === 'string' && values.clients.includes(','))
    throw new UsageError('--peers runs one client count: give --clients one number');
  const names =
    values['peer-names'] === undefined ? [...PEER_NAMES] : list('--peer-names', values['peer-names'] as string);
  const known: readonly string[] = PEER_NAMES;
  for (const name of names)
    if (!known.includes(name))
      throw new UsageError(`--peer-names: unknown peer ${JSON.stringify(name)}; known: ${PEER_NAMES.join(', ')}`);
  if (new Set(names).size !== names.length) throw new UsageError('--peer-names: a peer is listed twice');
  const idleClients =
    values['idle-clients'] === undefined
      ? PEERS_DEFAULTS.idleClients
      : integer('--idle-clients', values['idle-clients'] as string, 0, LIMITS.clients);
  const rounds =
    values['peer-rounds'] === undefined
      ? PEERS_DEFAULTS.rounds
      : integer('--peer-rounds', values['peer-rounds'] as string, 1, MAX_PEER_ROUNDS);
  return { names: names as PeerName[], idleClients, rounds };
}

/** --http and --tls: null for plain HTTP/1.1 (the autocannon runs); a run of its own otherwise. */
function protocolsFrom(
  http: string | undefined,
  tls: boolean,
  conflicts: { others: boolean; sweep: boolean },
): Protocol[] | null {
  if (http === undefined && !tls) return null;
  let protocols: Protocol[];
  try {
    protocols = protocolsOf(list('--http', http ?? '1.1'), tls);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--http: ${(error as Error).message}`);
  }
  if (protocols.length === 1 && protocols[0] === 'http/1.1') return null;
  if (conflicts.others)
    throw new UsageError(
      '--http and --tls compare protocols with Node clients on a fresh server with a memory feed: --url, --chaos, --nodes, --feed, --browser, --intermediary, --ws-variants and the network flags are runs of their own',
    );
  if (conflicts.sweep) throw new UsageError('--http and --tls run one client count: give --clients one number');
  return protocols;
}

/** The flags that set up runs of techniques, which a --strategies run has none of. */
// --browser says what a strategies run always is: its clients are Chromium pages.
const NOT_WITH_STRATEGIES = ['techniques', ...flagsNotWith('strategies').filter((flag) => flag !== 'browser')];

function strategiesOf(values: Record<string, unknown>): Strategy[] | null {
  if (values.strategies === undefined) {
    if (values.blocks !== undefined)
      throw new UsageError('--blocks sets the network of --strategies runs; name the strategies too');
    return null;
  }
  const conflicting = NOT_WITH_STRATEGIES.find((flag) => values[flag] !== undefined);
  if (conflicting)
    throw new UsageError(
      `--strategies runs the auto client in Chromium against a server of its own; --${conflicting} is for another kind of run`,
    );
  try {
    return parseStrategies(values.strategies as string);
  } catch (error) {
    throw new UsageError(`--strategies: ${(error as Error).message}`);
  }
}

function blockSetsOf(raw: string): BlockSet[] {
  try {
    return parseBlockSets(raw);
  } catch (error) {
    throw new UsageError(`--blocks: ${(error as Error).message}`);
  }
}

/** `--browser` is `--client-kinds browser`; saying both is a contradiction unless they agree. */
function kindsOf(browser: boolean, raw: string | undefined): ClientKind[] {
  if (raw === undefined) return browser ? ['browser'] : ['node'];
  const kinds = list('--client-kinds', raw);
  for (const kind of kinds) {
    if (!(CLIENT_KINDS as readonly string[]).includes(kind))
      throw new UsageError(
        `--client-kinds: expected node or browser (node,browser for both), got ${JSON.stringify(kind)}`,
      );
  }
  if (new Set(kinds).size !== kinds.length) throw new UsageError('--client-kinds: a kind is listed twice');
  if (browser && !kinds.includes('browser'))
    throw new UsageError('--browser asks for browser clients, and --client-kinds leaves them out');
  return kinds as ClientKind[];
}

function feed(raw: string): string {
  if (raw === 'memory' || raw === 'redis') return raw;
  if (/^rediss?:\/\/[^/\s]+/.test(raw)) return raw;
  throw new UsageError(`--feed: expected memory, redis or a redis:// URL, got ${JSON.stringify(raw)}`);
}

function list(flag: string, raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new UsageError(`${flag}: expected a comma-separated list, got ${JSON.stringify(raw)}`);
  return items;
}

function number(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value))
    throw new UsageError(`${flag}: expected a number, got ${JSON.stringify(raw)}`);
  if (value < min || value > max) throw new UsageError(`${flag}: ${value} is out of range (${min}..${max})`);
  return value;
}

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${flag}: expected a whole number, got ${JSON.stringify(raw)}`);
  return number(flag, raw, min, max);
}

function url(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`--url: not a URL: ${JSON.stringify(raw)}`);
  }
  if (parsed.protocol !== 'http:') throw new UsageError(`--url: only http:// is supported, got ${parsed.protocol}`);
  return parsed.origin;
}
