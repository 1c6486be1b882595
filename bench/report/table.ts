/**
 * The table the CLI prints at the end: one row per technique (and client count), the
 * figures a reader compares first. Returns a string; printing is the caller's business.
 */
import type { BenchResult, TechniqueResult } from '../result.ts';
import { count, fixed, mb, ms } from './format.ts';
import { describeNetwork } from '../network/options.ts';

export interface Column {
  /** The terminal table's heading: short. */
  title: string;
  /** The page's heading, where it can afford more words; the title otherwise. */
  heading?: string;
  /** Right-aligned numbers, left-aligned text. */
  align: 'left' | 'right';
  cell(result: TechniqueResult): string;
}

/** The columns of the result table, shared by the terminal table and index.html. */
export const COLUMNS: readonly Column[] = [
  { title: 'technique', align: 'left', cell: (r) => techniqueLabel(r) },
  { title: 'clients', align: 'right', cell: (r) => count(r.clients) },
  { title: 'feed', align: 'left', cell: (r) => feedLabel(r) },
  {
    title: 'delivered',
    heading: 'delivered / expected',
    align: 'right',
    cell: (r) => `${count(r.messagesDelivered)}/${count(r.messagesExpected)}`,
  },
  { title: 'lost', align: 'right', cell: (r) => count(r.lost) },
  { title: 'dup', align: 'right', cell: (r) => count(r.duplicates) },
  { title: 'requests', heading: 'HTTP requests', align: 'right', cell: (r) => count(r.httpRequests) },
  { title: 'req/msg', heading: 'requests / msg', align: 'right', cell: (r) => fixed(r.httpRequestsPerMessage, 3) },
  { title: 'B/msg', heading: 'bytes / msg', align: 'right', cell: (r) => fixed(r.bytesPerMessage, 1) },
  {
    title: 'overhead B/msg',
    heading: 'overhead bytes / msg',
    align: 'right',
    cell: (r) => fixed(r.overheadBytesPerMessage, 1),
  },
  {
    title: 'kB/client/min',
    heading: 'kB / client / min',
    align: 'right',
    cell: (r) => fixed(r.bytesPerClientPerMinute / 1000, 1),
  },
  { title: 'delay p50 ms', align: 'right', cell: (r) => ms(r.latencyMs?.p50) },
  { title: 'p99 ms', align: 'right', cell: (r) => ms(r.latencyMs?.p99) },
  { title: 'server CPU ms', align: 'right', cell: (r) => (r.server ? count(Math.round(r.server.cpuMs)) : '–') },
  { title: 'peak RSS MB', align: 'right', cell: (r) => mb(r.server?.maxRssBytes) },
  { title: 'model', align: 'left', cell: modelVerdict },
];

/** The round trip a run was shaped to, shown when any run of the result was shaped. */
const NETWORK_COLUMN: Column = {
  title: 'RTT ms',
  heading: 'added round trip, ms',
  align: 'right',
  cell: (r) => (r.network ? String(r.network.rttMs) : '–'),
};

/** Memory per connection, shown when WebSocket variants were compared (it is what deflate costs). */
const MEMORY_PER_CONNECTION_COLUMN: Column = {
  title: 'RSS/conn kB',
  heading: 'server memory per connection after delivery, kB',
  align: 'right',
  cell: (r) => {
    const perConnection = r.server?.rssPerConnectionBytes?.afterDelivery;
    return perConnection === undefined ? '–' : fixed(perConnection / 1000, 1);
  },
};

/**
 * The columns for this result: COLUMNS, the round trip after the client count when runs
 * were shaped, and memory per connection after peak RSS when WebSocket variants were compared.
 */
export function columnsFor(result: BenchResult): readonly Column[] {
  let columns = [...COLUMNS];
  if (result.techniques.some((r) => r.network)) columns = [...columns.slice(0, 2), NETWORK_COLUMN, ...columns.slice(2)];
  if (result.techniques.some((r) => r.wsVariant && r.wsVariant !== 'json')) {
    const peak = columns.findIndex((c) => c.title === 'peak RSS MB');
    columns.splice(peak + 1, 0, MEMORY_PER_CONNECTION_COLUMN);
  }
  return columns;
}

/** A run's technique, its client kind and its round trip when shaped: `sse (browser) @ 50 ms`. */
export function runLabel(r: TechniqueResult): string {
  const label = techniqueLabel(r);
  return r.network ? `${label} @ ${r.network.rttMs} ms` : label;
}

/** The technique, `(browser)` when Chromium pages were its clients (Node clients go unsaid), and the intermediary it ran behind. */
export function techniqueLabel(r: TechniqueResult): string {
  // Behind an intermediary (--intermediary), the row says which: the same technique runs several times.
  const behind = r.intermediary && r.intermediary.name !== 'none' ? ` › ${r.intermediary.name}` : '';
  return `${variantLabel(r)}${r.clientKind === 'browser' ? ' (browser)' : ''}${behind}`;
}

/** The technique and its WebSocket variant when not plain JSON: `websocket [deflate]` (--ws-variants). */
export function variantLabel(r: TechniqueResult): string {
  return r.wsVariant && r.wsVariant !== 'json' ? `${r.technique} [${r.wsVariant}]` : r.technique;
}

/** The feed a run used: `memory`, `redis`, or `redis ×3` for three nodes sharing it. */
export function feedLabel(r: TechniqueResult): string {
  // Results written before the Redis feed existed have no `feed`: they ran in memory.
  const feed = r.feed ?? 'memory';
  return r.nodes > 1 ? `${feed} ×${r.nodes}` : feed;
}

/** One word on the models, for tables: agrees, DIFFERS (and where), or why none was checked. */
export function modelVerdict(r: TechniqueResult): string {
  if (r.chaos) return `${r.chaos.cuts} cuts, ${r.reconnects} reconnects`;
  if (r.theory.every((t) => t.agrees)) return 'agrees';
  return `DIFFERS: ${r.theory
    .filter((t) => !t.agrees)
    .map((t) => t.metric)
    .join(', ')}`;
}

export function renderTable(result: BenchResult): string {
  const COLUMNS = columnsFor(result);
  const rows = result.techniques.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (COLUMNS[i]?.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(COLUMNS.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`;
}

/** The run's configuration in one line, as every chart and report shows it. */
export function describeConfig(result: BenchResult): string {
  const c = result.config;
  const clients = Array.isArray(c.clients) ? c.clients.join(', ') : String(c.clients);
  const chaos = c.chaos ? ' · chaos: connections cut at random' : '';
  const feeds = c.feeds?.some((f) => f !== 'memory')
    ? ` · feeds ${c.feeds.join(', ')}${c.nodes > 1 ? `, ${c.nodes} nodes on Redis` : ''}`
    : '';
  const network = c.network ? ` · subscribers through ${describeNetwork(c.network)}` : '';
  return `scenario ${c.scenario} · ${clients} clients · ${c.rate} msg/s · ${c.durationSec} s · ${c.payloadBytes} B payload · poll ${c.pollIntervalMs} ms${feeds}${network}${chaos}`;
}

export function describeEnvironment(result: BenchResult): string {
  const e = result.environment;
  return `Node ${e.node} · ${e.platform} · ${e.cpus} × ${e.cpuModel} · ${e.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
}
