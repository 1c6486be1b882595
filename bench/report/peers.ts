/**
 * The `--peers` comparison as one table and one chart set: realtime-lab's techniques and
 * the established libraries, family by family, the best of each family at each figure in
 * bold. realtime-lab's rows in their techniques' colours, the peers' in grey: a colour
 * still means one technique and nothing else.
 */
import type { ChartConfiguration } from 'chart.js';
import { type ComparedFigure, COMPARED } from '../peers/best.ts';
import { FAMILY_TITLES } from '../peers/peers.ts';
import type { PeerRowResult } from '../peers/run.ts';
import type { BenchResult } from '../result.ts';
import { type NamedChart, NEUTRALS, baseOptions, colorOf } from './charts.ts';
import { dotPlot } from './dots.ts';
import { fixed, ms } from './format.ts';

/** A row's name as the table and the charts show it. */
export function peerRowLabel(row: Pick<PeerRowResult, 'side' | 'name'>): string {
  return row.side === 'realtime-lab' ? `realtime-lab ${row.name}` : row.name;
}

const X_TITLE = 'server (realtime-lab technique or library)';
/** Every column named: chart.js would otherwise skip every other of fifteen long labels. */
const EVERY_LABEL = { autoSkip: false, maxRotation: 50, minRotation: 50 };

function colourOf(row: PeerRowResult, index: number): string {
  return row.side === 'realtime-lab' ? colorOf(row.name, index) : NEUTRALS.dark;
}

/** The table's headings and rows as text; the best of a family at a figure is `**bold**`. */
export function peersTable(result: BenchResult): { headings: string[]; rows: string[][] } | null {
  const peers = result.peers;
  if (!peers || peers.rows.length === 0) return null;
  const best = (r: PeerRowResult, figure: ComparedFigure, text: string) =>
    peers.best[r.family]?.[figure].includes(r.name) && COMPARED[figure](r) !== null ? `**${text}**` : text;
  return {
    headings: [
      'family',
      'server',
      'delivered / expected',
      'lost',
      'dup',
      'B / msg',
      'delay p50 ms',
      'p90',
      'p99',
      'server CPU µs / msg',
      `held / idle conn (${peers.idleClients})`,
      'RSS / idle conn',
      'bench CPU',
    ],
    rows: peers.rows.map((r) => [
      FAMILY_TITLES[r.family],
      peerRowLabel(r),
      `${r.messagesDelivered} / ${r.messagesExpected}`,
      String(r.lost),
      String(r.duplicates),
      best(r, 'wireBytesPerMessage', fixed(r.wireBytesPerMessage)),
      best(r, 'delayP50Ms', ms(r.latencyMs?.p50)),
      ms(r.latencyMs?.p90),
      best(r, 'delayP99Ms', ms(r.latencyMs?.p99)),
      best(r, 'cpuUsPerMessage', fixed(r.cpuUsPerMessage)),
      r.memory ? best(r, 'memoryPerConnectionBytes', `${fixed(r.memory.perConnectionBytes / 1000)} kB`) : '–',
      r.memory ? `${fixed(r.memory.rssPerConnectionBytes / 1000)} kB` : '–',
      `${fixed(r.benchCpuPercent)}%`,
    ]),
  };
}

/**
 * For a run of several rounds, each row's delay p50 and p99 round by round beside their
 * medians (the table's figures), or null: on a shared machine a row's p99 can move by 2×
 * from one round to the next, and a lead smaller than that is no lead.
 */
export function peersRoundsTable(result: BenchResult): { headings: string[]; rows: string[][] } | null {
  const rows = (result.peers?.rows ?? []).filter((r) => r.delayByRound !== undefined);
  if (rows.length === 0) return null;
  const each = (values: readonly (number | null)[]) => values.map((v) => ms(v)).join(', ');
  return {
    headings: ['family', 'server', 'delay p50 ms: median (each round)', 'p99 ms: median (each round)'],
    rows: rows.map((r) => [
      FAMILY_TITLES[r.family],
      peerRowLabel(r),
      `${ms(r.latencyMs?.p50)} (${each(r.delayByRound?.p50Ms ?? [])})`,
      `${ms(r.latencyMs?.p99)} (${each(r.delayByRound?.p99Ms ?? [])})`,
    ]),
  };
}

/** What a reader must know to read the table; printed with it. */
export const PEERS_NOTES = [
  'Each row is a fresh server process on 127.0.0.1: realtime-lab’s (server/main.ts) measured with its technique’s bench driver, or a small server on an established library (bench/peers/servers/) measured with that library’s own client, except the plain WebSocket servers (ws, nodejs-websocket), measured with ws’s WebSocket as realtime-lab’s is. The same publisher (autocannon), clock and per-(client, id) delivery check serve every row.',
  'B / msg: bytes both ways on the subscribers’ sockets while publishing, per delivered message, counted on the server side: realtime-lab’s /api/stats for the run’s client id, a peer’s /__bench/wire (bytesRead + bytesWritten of every socket but the bench’s own).',
  'Delay: the receipt on the server’s clock minus the message’s ts (set when the server accepted it). Server CPU: user + system from /proc, first publish to last delivery, per delivered message. Held / idle conn: what the server holds with that many connections idle for 2 s (V8’s heap in use plus Buffers, less compiled code and bytecode, after two full garbage collections through its inspector), minus the same before them (after a first round of as many connections, opened and closed), per connection; RSS / idle conn: VmRSS after the same collections, the same way (noisier: the allocator keeps or returns pages on its own time). Then a warm-up (the delivery’s subscribers, 100 messages), then the delivery.',
  'Bold: the best (lowest) of its family at that figure. socket.io and SockJS deliver at most once by design; any loss or repeat is in the lost and dup columns and the warnings.',
];

/** PEERS_NOTES, which CPUs the servers and the bench ran on, and how the rounds of a run of several were put together. */
export function peersNotes(result: BenchResult): string[] {
  const rounds = result.peers?.rounds ?? 1;
  const split = result.peers?.cpuSplit;
  const cpus =
    split === undefined
      ? []
      : split === null
        ? [
            'The servers and the bench shared the CPUs (the warnings say why): delays include where the scheduler put them.',
          ]
        : [
            `Every server ran on CPU ${split.server} and the bench on CPU ${split.bench} (bench/cpu-split.ts): unsplit, a server’s write often woke the bench on the server’s own CPU, and the two took turns on it.`,
          ];
  const roundsNote =
    rounds <= 1
      ? []
      : [
          `Every row ran ${rounds} times, the rows of a round one after the other: each figure is the median of its ${rounds} rounds; delivered, expected, lost and dup are their sums.`,
        ];
  return [...PEERS_NOTES, ...cpus, ...roundsNote];
}

/** The --peers section of summary.md and of the CLI's output, or null for a run without one. */
export function renderPeers(result: BenchResult): string | null {
  const table = peersTable(result);
  if (!table || !result.peers) return null;
  const lines = [
    '## realtime-lab beside the established libraries',
    '',
    ...peersNotes(result).map((n) => `- ${n}`),
    '',
  ];
  lines.push(`| ${table.headings.join(' | ')} |`);
  lines.push(`| ${table.headings.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  lines.push('', '### Best of each family', '');
  const words: Record<ComparedFigure, string> = {
    wireBytesPerMessage: 'bytes',
    delayP50Ms: 'delay p50',
    delayP99Ms: 'delay p99',
    cpuUsPerMessage: 'CPU',
    memoryPerConnectionBytes: 'memory',
  };
  const rows = result.peers.rows;
  const label = (name: string) => {
    const row = rows.find((r) => r.name === name);
    return row ? peerRowLabel(row) : name;
  };
  for (const [family, figures] of Object.entries(result.peers.best)) {
    const said = (Object.entries(figures) as [ComparedFigure, string[]][])
      .filter(([, names]) => names.length > 0)
      .map(([figure, names]) => `${words[figure]}: ${names.map(label).join(', ')}`);
    lines.push(`- **${FAMILY_TITLES[family as keyof typeof FAMILY_TITLES]}**: ${said.join('; ')}`);
  }
  const byRound = peersRoundsTable(result);
  if (byRound) {
    lines.push('', "### Each round's delay", '');
    lines.push(`| ${byRound.headings.join(' | ')} |`);
    lines.push(`| ${byRound.headings.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
    for (const row of byRound.rows) lines.push(`| ${row.join(' | ')} |`);
  }
  lines.push('', '### Clients used', '');
  for (const r of result.peers.rows) lines.push(`- **${peerRowLabel(r)}**: ${r.server}; ${r.client}`);
  return `${lines.join('\n')}\n`;
}

/** The charts of a --peers run: bytes, delay, CPU per message, memory per connection. */
export function peersCharts(result: BenchResult, runSubtitle: string[]): NamedChart[] {
  const rows = result.peers?.rows ?? [];
  if (rows.length === 0) return [];
  const labels = rows.map(peerRowLabel);
  const colours = rows.map(colourOf);
  const key = 'realtime-lab in its techniques’ colours, peers in grey; columns grouped by family, in the table’s order';
  // How the figures were taken, on the chart itself: a chart is often read without its notes.
  const rounds = result.peers?.rounds ?? 1;
  const split = result.peers?.cpuSplit;
  const method = [
    rounds > 1 ? `each figure the median of ${rounds} rounds` : '',
    split
      ? `servers on CPU ${split.server}, the bench on CPU ${split.bench}`
      : split === null
        ? 'servers and bench sharing the CPUs'
        : '',
  ].filter((part) => part !== '');
  const subtitle = method.length > 0 ? [...runSubtitle, method.join(' · ')] : runSubtitle;
  const delay = dotPlot(
    'Delivery delay: realtime-lab and the libraries',
    [...subtitle, key],
    rows.map((r, i) => ({ label: labels[i] as string, technique: r.name, colour: colours[i] })),
    [
      { label: 'p50', values: rows.map((r) => r.latencyMs?.p50 ?? null), pointStyle: 'circle' },
      { label: 'p99', values: rows.map((r) => r.latencyMs?.p99 ?? null), pointStyle: 'triangle' },
    ],
    'delay, ms (log)',
    '● p50  ▲ p99',
  );
  const x = delay.options?.scales?.x;
  if (x) Object.assign(x, { title: { display: true, text: X_TITLE, font: { size: 14 } }, ticks: EVERY_LABEL });
  const charts: NamedChart[] = [
    {
      name: 'peers-bytes-per-message',
      caption:
        'Bytes both ways on the subscribers’ sockets per delivered message while publishing, counted on the server side, realtime-lab beside the established libraries.',
      config: bars(
        'Wire bytes per delivered message',
        [...subtitle, key],
        'bytes per delivered message',
        labels,
        rows.map((r) => r.wireBytesPerMessage),
        colours,
      ),
    },
    {
      name: 'peers-delay',
      caption:
        'Delivery delay (publish to receipt, on the server’s clock), p50 and p99, on a log axis: realtime-lab beside the established libraries.',
      config: delay,
    },
    {
      name: 'peers-cpu-per-message',
      caption: 'Server CPU (user + system, from /proc) per delivered message, µs, over the publish phase.',
      config: bars(
        'Server CPU per delivered message',
        [...subtitle, key],
        'server CPU per delivered message, µs',
        labels,
        rows.map((r) => r.cpuUsPerMessage),
        colours,
      ),
    },
  ];
  if (rows.some((r) => r.memory))
    charts.push({
      name: 'peers-memory-per-connection',
      caption: `Server memory per idle connection: what the server holds (V8's heap in use plus Buffers, garbage collected first) with ${result.peers?.idleClients} connections idle for 2 s, minus the same before them, per connection, kB.`,
      config: bars(
        'Server memory per idle connection',
        [...subtitle, key],
        'held per connection (heap + Buffers less compiled code, after a full GC), kB',
        labels,
        rows.map((r) => (r.memory ? Math.round(r.memory.perConnectionBytes / 100) / 10 : null)),
        colours,
      ),
    });
  return charts;
}

function bars(
  title: string,
  subtitle: string[],
  yTitle: string,
  labels: string[],
  values: (number | null)[],
  colours: string[],
): ChartConfiguration {
  const options = baseOptions(title, subtitle, yTitle, false, X_TITLE);
  const x = options?.scales?.x;
  if (x) Object.assign(x, { ticks: EVERY_LABEL });
  // One series, coloured per column: a legend would show one column's colour for all.
  if (options?.plugins?.legend) options.plugins.legend.display = false;
  return {
    type: 'bar',
    data: { labels, datasets: [{ label: yTitle, data: values, backgroundColor: colours }] },
    options,
  } as ChartConfiguration;
}
