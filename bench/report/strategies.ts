/**
 * The strategies run (`--strategies`) in the report: its table (summary.md and
 * index.html), each case's attempts in words, and its two charts: the time to connect and
 * to the first message per case, and the bytes failed attempts cost per client.
 */
import type { ChartConfiguration } from 'chart.js';
import type { BenchResult } from '../result.ts';
import type { StrategiesResult, StrategyCaseResult } from '../strategies/figures.ts';
import { NEUTRALS, type NamedChart, baseOptions, colorOf } from './charts.ts';
import { count, ms } from './format.ts';

const HEADINGS = [
  'strategy',
  'blocks',
  'clients',
  'landed on',
  'connected p50 / max, ms',
  'first message p50 / max, ms',
  'delivered / expected',
  'lost',
  'delayed by a switch',
  'duplicates dropped',
  'failed-attempt bytes per client p50 / max',
];

/** `sse ×2, websocket ×1`. */
function landed(c: StrategyCaseResult): string {
  return Object.entries(c.landedOn)
    .map(([id, clients]) => `${id} ×${clients}`)
    .join(', ');
}

const pair = (s: { p50: number; max: number } | null) => (s ? `${ms(s.p50)} / ${ms(s.max)}` : 'never');

/** The table's headings and one row of cells per case; null without a strategies run. */
export function strategiesTable(result: BenchResult): { headings: string[]; rows: string[][] } | null {
  const s = result.strategies;
  if (!s) return null;
  return {
    headings: HEADINGS,
    rows: s.cases.map((c) => [
      c.strategy,
      Object.keys(c.blocks).length === 0 ? 'none' : c.label.slice(c.strategy.length + 2),
      String(c.clients),
      landed(c),
      pair(c.connectedMs),
      pair(c.firstMessageMs),
      `${count(c.messagesDelivered)} / ${count(c.messagesExpected)}`,
      c.lost === 0 && c.clientsReportedLost === 0 ? '0' : `**${c.lost}** (clients say ${c.clientsReportedLost})`,
      count(c.delayed),
      count(c.duplicatesDropped),
      `${count(c.failedBytes.p50)} / ${count(c.failedBytes.max)}`,
    ]),
  };
}

/** The summary's section: the table, then each case's first client's attempts. */
export function renderStrategies(result: BenchResult): string {
  const table = strategiesTable(result);
  const s = result.strategies;
  if (!table || !s) return '';
  const lines = ['## Fallback and upgrade strategies', ''];
  lines.push(
    `The auto panel's client in ${s.clients} Chromium pages per case, each under a client id whose blocks the bench set on the server (refuse: an error instead of the technique; buffer: its bytes held as a buffering proxy holds them). The publisher sends ${s.rate} msg/s for ${s.durationSec} s from the moment every client has started, so messages are published before, during and after each switch; every one is owed to every client, and the bench checks each id itself. Times are from the client's start; bytes are the server's counts for the techniques each client gave up.`,
    '',
  );
  lines.push(`| ${table.headings.join(' | ')} |`);
  lines.push(
    `| --- | --- | ---: | --- | ${table.headings
      .slice(4)
      .map(() => '---:')
      .join(' | ')} |`,
  );
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');
  lines.push("Each case's first client, attempt by attempt (from its start, ms):", '');
  for (const c of s.cases) {
    const first = c.perClient[0];
    if (!first) continue;
    const attempts = first.attempts
      .map(
        (a) =>
          `${a.technique} ${a.outcome}${a.reason && a.outcome === 'failed' ? ` (${a.reason})` : ''}, ${a.startedMs ?? '–'}→${a.endedMs ?? '…'} ms, ${count(a.bytes)} B`,
      )
      .join('; ');
    lines.push(`- **${c.label}**: ${attempts}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The two charts of a strategies run; none without one. */
export function strategyCharts(result: BenchResult, subtitle: string[]): NamedChart[] {
  const s = result.strategies;
  if (!s || s.cases.length === 0) return [];
  return [
    {
      name: 'strategies-first-message',
      caption:
        'Per case: the time from a client starting to its first message (median and slowest client), and to its connection that carried the feed (median). What each blocked technique adds before anything arrives.',
      config: timesChart(s, subtitle),
    },
    {
      name: 'strategies-failed-bytes',
      caption:
        'Per case: bytes each client spent on the techniques it gave up (both ways, headers included, as the server counted them), median and largest client.',
      config: failedBytesChart(s, subtitle),
    },
  ];
}

/**
 * A chart with one bar per case, drawn sideways: the cases' labels are long (strategy,
 * blocks, where it landed) and each must be read, which a column of turned, skipped labels
 * does not allow.
 */
function sideways(title: string, subtitle: string[], valueTitle: string, caseTitle: string) {
  const options = baseOptions(title, subtitle, valueTitle, false, caseTitle);
  const scales = options?.scales as Record<string, Record<string, unknown>>;
  return {
    ...options,
    indexAxis: 'y' as const,
    scales: {
      x: { ...scales.y, type: 'linear', beginAtZero: true },
      y: { ...scales.x, ticks: { autoSkip: false } },
    },
  } as ChartConfiguration['options'];
}

/** The case's label, and what it lost if it did: a chart must not show a losing case as a fast one. */
const caseName = (c: StrategyCaseResult) => (c.lost > 0 ? `${c.label}: ${c.lost} LOST` : c.label);

function timesChart(s: StrategiesResult, subtitle: string[]): ChartConfiguration {
  const series = [
    { label: 'connected, median', of: (c: StrategyCaseResult) => c.connectedMs?.p50, colour: NEUTRALS.light },
    { label: 'first message, median', of: (c: StrategyCaseResult) => c.firstMessageMs?.p50, colour: NEUTRALS.mid },
    {
      label: 'first message, slowest client',
      of: (c: StrategyCaseResult) => c.firstMessageMs?.max,
      colour: NEUTRALS.darkest,
    },
  ];
  const options = sideways(
    'Time to connect and to the first message',
    subtitle,
    'ms from the start',
    'strategy, blocks',
  );
  return {
    type: 'bar',
    data: {
      labels: s.cases.map(caseName),
      datasets: series.map((line) => ({
        label: line.label,
        data: s.cases.map((c) => Math.round(line.of(c) ?? 0)),
        backgroundColor: line.colour,
      })),
    },
    options,
  };
}

function failedBytesChart(s: StrategiesResult, subtitle: string[]): ChartConfiguration {
  const options = sideways(
    'Bytes spent on failed attempts, per client',
    subtitle,
    'bytes',
    'landed on ← strategy, blocks',
  );
  return {
    type: 'bar',
    data: {
      // Where the clients landed first, so the bar's colour reads as that technique's.
      labels: s.cases.map((c) => `${Object.keys(c.landedOn).join(' + ')} ← ${caseName(c)}`),
      datasets: [
        {
          label: 'median client, in the colour of where it landed',
          data: s.cases.map((c) => c.failedBytes.p50),
          // A case whose clients landed on different techniques has no one colour: grey.
          backgroundColor: s.cases.map((c, i) => {
            const landed = Object.keys(c.landedOn);
            return landed.length === 1 ? colorOf(landed[0] ?? '', i) : NEUTRALS.mid;
          }),
        },
        {
          label: 'largest client',
          data: s.cases.map((c) => c.failedBytes.max),
          backgroundColor: NEUTRALS.dark,
        },
      ],
    },
    options,
  };
}
