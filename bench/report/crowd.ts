/**
 * The crowd run's table and charts (`--crowd`): realtime-lab beside the bare broadcast
 * server, per technique and client count. The table gives each figure for both and their
 * ratio (realtime-lab ÷ bare: above 1, realtime-lab costs more); the charts draw each
 * figure against the clients, one line per technique in its colour for realtime-lab and
 * a dashed grey line with the same markers for the bare server.
 */
import type { ChartConfiguration, PointStyle } from 'chart.js';
import type { CrowdRun } from '../crowd/run.ts';
import type { BenchResult } from '../result.ts';
import { type NamedChart, NEUTRALS, baseOptions, colorOf } from './charts.ts';
import { count, fixed, ms } from './format.ts';

/** One marker shape per technique, in the order they ran; realtime-lab and bare share it. */
const POINT_STYLES: PointStyle[] = ['circle', 'rect', 'triangle', 'rectRot', 'star', 'crossRot'];

/** What a reader must know to read the table; printed with it. */
export const CROWD_NOTES = [
  'Each run alone on the machine: a fresh server process (realtime-lab, or the bare node:http/ws broadcast server of bench/bare/, which writes the same bytes with no history, no slow-consumer bound and no meters), its clients spread over worker processes.',
  'connect: from every worker ready to every client connected (held, for long polls). memory: what the server holds (V8’s heap in use plus Buffers, less compiled code and bytecode, after two full garbage collections through its inspector) with every client connected and idle for 2 s, minus the same before any connected, per client (1 kB = 1,000 B).',
  'delay: the server accepting a message to a client parsing it, over every delivery. CPU: the server’s CPU time from the first publish to the last delivery, per delivered message.',
  'ratio: realtime-lab ÷ bare (above 1: realtime-lab costs more or is slower). clients: the busiest client worker’s share of one core while publishing, and the latest worker’s event-loop delay p99 (above 80%, or above 50 ms: the clients may be the bottleneck, and the delays partly theirs).',
];

/** The runs of `result` paired by technique and clients: realtime-lab and bare side by side. */
function pairs(runs: CrowdRun[]): { technique: string; clients: number; lab?: CrowdRun; bare?: CrowdRun }[] {
  const keyed = new Map<string, { technique: string; clients: number; lab?: CrowdRun; bare?: CrowdRun }>();
  for (const run of runs) {
    const key = `${run.technique}\u0000${run.clients}`;
    const pair = keyed.get(key) ?? { technique: run.technique, clients: run.clients };
    if (run.server === 'bare') pair.bare = run;
    else pair.lab = run;
    keyed.set(key, pair);
  }
  return [...keyed.values()];
}

function ratio(lab: number | null | undefined, bare: number | null | undefined): string {
  if (lab === null || lab === undefined || bare === null || bare === undefined || bare <= 0) return '–';
  return `${fixed(lab / bare, 2)}×`;
}

const kb = (bytes: number | undefined) => (bytes === undefined ? '–' : fixed(bytes / 1000));
/** The busiest worker's CPU share, and the latest event loop's p99 delay. */
const busiest = (run: CrowdRun | undefined) => {
  if (!run) return '–';
  const share = Math.max(0, ...run.clientCpu.workers.map((w) => w.coreShare));
  const late = Math.max(0, ...run.clientCpu.workers.map((w) => w.loopDelayP99Ms ?? 0));
  return `${Math.round(share * 100)}% / ${ms(late)} ms`;
};
const delivered = (run: CrowdRun | undefined) =>
  run ? `${count(run.messagesDelivered)} / ${count(run.messagesExpected)}` : '–';

/** The crowd table, headings and rows, or null for another kind of run. */
export function crowdTable(result: BenchResult): { headings: string[]; rows: string[][] } | null {
  const runs = result.crowd?.runs ?? [];
  if (runs.length === 0) return null;
  const headings = [
    'technique',
    'clients',
    'delivered / expected (lab, bare)',
    'connect s (lab, bare)',
    'delay p50 ms (lab, bare, ratio)',
    'delay p99 ms (lab, bare, ratio)',
    'CPU µs / msg (lab, bare, ratio)',
    'memory kB / conn (lab, bare, ratio)',
    'clients: CPU / loop p99 (lab, bare)',
  ];
  const rows = pairs(runs).map(({ technique, clients, lab, bare }) => [
    technique,
    count(clients),
    `${delivered(lab)}, ${delivered(bare)}`,
    `${fixed((lab?.connectMs ?? Number.NaN) / 1000)}, ${fixed((bare?.connectMs ?? Number.NaN) / 1000)}`,
    `${ms(lab?.latencyMs?.p50)}, ${ms(bare?.latencyMs?.p50)}, ${ratio(lab?.latencyMs?.p50, bare?.latencyMs?.p50)}`,
    `${ms(lab?.latencyMs?.p99)}, ${ms(bare?.latencyMs?.p99)}, ${ratio(lab?.latencyMs?.p99, bare?.latencyMs?.p99)}`,
    `${fixed(lab?.cpu.perDeliveredMessageUs)}, ${fixed(bare?.cpu.perDeliveredMessageUs)}, ${ratio(lab?.cpu.perDeliveredMessageUs, bare?.cpu.perDeliveredMessageUs)}`,
    `${kb(lab?.memory.perConnectionBytes)}, ${kb(bare?.memory.perConnectionBytes)}, ${ratio(lab?.memory.perConnectionBytes, bare?.memory.perConnectionBytes)}`,
    `${busiest(lab)}, ${busiest(bare)}`,
  ]);
  return { headings, rows };
}

/** The crowd section of summary.md, or null for another kind of run. */
export function renderCrowd(result: BenchResult): string | null {
  const table = crowdTable(result);
  if (!table) return null;
  const lines = ['## Crowd: realtime-lab beside a bare broadcast server', '', ...CROWD_NOTES.map((n) => `- ${n}`), ''];
  lines.push(`| ${table.headings.join(' | ')} |`);
  lines.push(`| ${table.headings.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

interface Figure {
  name: string;
  title: string;
  yTitle: string;
  caption: string;
  value: (run: CrowdRun) => number | null;
  logY: boolean;
}

const FIGURES: Figure[] = [
  {
    name: 'crowd-delay-p50',
    title: 'Fan-out delay p50 against clients',
    yTitle: 'p50 delay, ms (log scale)',
    caption:
      'The median delivery delay as the clients grow, realtime-lab (solid, the technique’s colour) beside the bare broadcast server (dashed grey, the same marker).',
    value: (r) => r.latencyMs?.p50 ?? null,
    logY: true,
  },
  {
    name: 'crowd-delay-p99',
    title: 'Fan-out delay p99 against clients',
    yTitle: 'p99 delay, ms (log scale)',
    caption:
      'The slowest 1% of deliveries as the clients grow: a broadcast to N sockets takes time proportional to N, and the last client waits for it all.',
    value: (r) => r.latencyMs?.p99 ?? null,
    logY: true,
  },
  {
    name: 'crowd-cpu-per-message',
    title: 'Server CPU per delivered message against clients',
    yTitle: 'server CPU per delivered message, µs',
    caption:
      'The server’s CPU time from the first publish to the last delivery, divided by the deliveries: the cost of one message to one client.',
    value: (r) => r.cpu.perDeliveredMessageUs,
    logY: false,
  },
  {
    name: 'crowd-memory-per-connection',
    title: 'Server memory per idle connection against clients',
    yTitle: 'held per connection (heap + Buffers less compiled code, after a full GC), kB',
    caption:
      'What one connected, idle client costs the server in memory it holds: V8’s heap in use plus Buffers, less compiled code, after a full garbage collection, all connected and idle for 2 s, minus before any connected, per client.',
    value: (r) => r.memory.perConnectionBytes / 1000,
    logY: false,
  },
];

/** The crowd charts, or none for another kind of run. */
export function crowdCharts(result: BenchResult, subtitle: string[]): NamedChart[] {
  const runs = result.crowd?.runs ?? [];
  if (runs.length === 0) return [];
  return FIGURES.map((figure) => ({
    name: figure.name,
    caption: figure.caption,
    config: crowdChart(figure, runs, subtitle),
  }));
}

function crowdChart(figure: Figure, runs: CrowdRun[], subtitle: string[]): ChartConfiguration {
  const techniques = [...new Set(runs.map((r) => r.technique))];
  const key =
    'lines: solid, the technique’s colour: realtime-lab · dashed grey, same marker: the bare broadcast server';
  const options = baseOptions(figure.title, [...subtitle, key], figure.yTitle, figure.logY, 'clients');
  // Markers in the legend: they, not the colour, tell the bare server's lines apart.
  if (options?.plugins?.legend) options.plugins.legend.labels = { usePointStyle: true };
  const values = runs.map(figure.value).filter((v): v is number => v !== null && Number.isFinite(v));
  // A linear axis from zero to past the largest value; a log one from a little below the
  // smallest to a little above the largest, so that no marker sits on an edge.
  if (options?.scales?.y && values.length > 0) {
    if (figure.logY)
      Object.assign(options.scales.y, {
        min: Math.max(Math.min(...values) / 1.5, 1e-3),
        max: Math.max(...values) * 1.5,
      });
    else Object.assign(options.scales.y, { min: Math.min(0, ...values), suggestedMax: Math.max(...values) * 1.1 });
  }
  // One column per client count, evenly spaced: 1k, 2k, 5k and 10k are nearly so on a log scale.
  const sizes = [...new Set(runs.map((r) => r.clients))].sort((a, b) => a - b);
  // The first and last columns half a column in from the edges, as in the dot plots.
  if (options?.scales?.x) Object.assign(options.scales.x, { offset: true });
  const line = (technique: string, i: number, server: CrowdRun['server']) => {
    const colour = server === 'bare' ? NEUTRALS.dark : colorOf(technique, i);
    return {
      label: server === 'bare' ? `${technique} bare` : technique,
      data: sizes.map((clients) => {
        const run = runs.find((r) => r.technique === technique && r.server === server && r.clients === clients);
        return run ? figure.value(run) : null;
      }),
      borderColor: colour,
      backgroundColor: colour,
      borderDash: server === 'bare' ? [6, 4] : [],
      borderWidth: 2,
      pointRadius: 5,
      pointStyle: POINT_STYLES[i % POINT_STYLES.length] as PointStyle,
    };
  };
  return {
    type: 'line',
    data: {
      labels: sizes.map((n) => n.toLocaleString('en-US')),
      datasets: techniques.flatMap((technique, i) => [line(technique, i, 'realtime-lab'), line(technique, i, 'bare')]),
    },
    options,
  };
}
