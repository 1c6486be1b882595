/**
 * The charts, as chart.js configurations made of plain data (no functions), so the same
 * configuration is rendered to PNG in Node and drawn again by `index.html` in a browser.
 * Every chart carries a title, axis titles with units, and the run's configuration.
 */
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { techniqueById } from '../../server/contract/techniques.js';
import type { LatencySummary } from '../delivery.ts';
import type { BenchResult, TechniqueResult } from '../result.ts';
import { describeConfig, describeEnvironment, variantLabel } from './table.ts';
import { roundTripSweepCharts } from './sweep-charts.ts';
import { clientKindCharts, kindOf } from './client-kinds.ts';
import { protocolCharts } from './protocols.ts';
import { intermediariesChart } from './intermediaries.ts';
import { strategyCharts } from './strategies.ts';

export interface NamedChart {
  /** File name without extension: `bytes-per-message` → bytes-per-message.png. */
  name: string;
  /** What a reader learns from it, one sentence, for the summary and the page. */
  caption: string;
  config: ChartConfiguration;
}

/** Colours for ids the registry does not know (a results.json from another version). */
const SPARE_COLORS = ['#7f8c8d', '#b7950b', '#117a65', '#6c3483'];

/** Colours of the byte parts, stacked bottom to top. */
const PART_COLORS = { payload: '#2e86c1', framing: '#f5b041', responseHeaders: '#cb4335', requestHeaders: '#7d3c98' };
const PERCENTILE_COLORS = { p50: '#85c1e9', p90: '#3498db', p99: '#1b4f72', max: '#17202a' };
const GRID = '#e5e7e9';

/** A technique's colour in every chart: its registry colour, the same as on the pages. */
export function colorOf(technique: string, index = 0): string {
  return techniqueById(technique)?.colour ?? SPARE_COLORS[index % SPARE_COLORS.length] ?? '#555';
}

export function buildCharts(result: BenchResult): NamedChart[] {
  // A protocol comparison (--http, --tls) or a --strategies run has no autocannon runs:
  // its charts are its own.
  if (result.techniques.length === 0) {
    const subtitles = [describeConfig(result), describeEnvironment(result)];
    return [...protocolCharts(result, subtitles), ...strategyCharts(result, subtitles)];
  }
  const counts = [...new Set(result.techniques.map((t) => t.clients))];
  const largest = Math.max(...counts);
  // Single-run charts show one client count: the largest of a sweep; one feed, the first
  // listed (the backplane chart sets the feeds side by side); and one kind of client, the
  // first listed (the client-kinds charts set the kinds side by side).
  const firstFeed = result.techniques[0]?.feed;
  // One round trip of an RTT sweep (the first: the sweep charts set them side by side), and
  // one kind of client (the first: the client-kind charts set them side by side).
  const firstRtt = result.techniques[0]?.network?.rttMs;
  const sameRtt = (t: TechniqueResult) => t.network?.rttMs === firstRtt;
  const firstKind = result.techniques[0] ? kindOf(result.techniques[0]) : 'node';
  const rows = result.techniques.filter(
    (t) => t.clients === largest && t.feed === firstFeed && sameRtt(t) && kindOf(t) === firstKind,
  );
  const subtitle = [describeConfig(result), describeEnvironment(result)];
  const at = counts.length > 1 ? ` (at ${largest} clients)` : '';
  const withMessages = rows.filter((r) => r.messagesDelivered > 0);
  const charts: NamedChart[] = [];

  if (withMessages.length > 0) {
    charts.push({
      name: 'bytes-per-message',
      caption:
        'Bytes on the wire per delivered message, both directions, split into what carries the message and what wraps it.',
      config: stackedBytes(
        `Wire bytes per delivered message${at}`,
        subtitle,
        withMessages,
        (r, part) => r.bytes[part] / r.messagesDelivered,
        'bytes per delivered message',
      ),
    });
    charts.push({
      name: 'requests-per-message',
      caption:
        'HTTP requests per delivered message (log scale): polling pays a request per answer, streams one per connection.',
      config: bars(
        `HTTP requests per delivered message${at}`,
        subtitle,
        withMessages,
        (r) => r.httpRequestsPerMessage ?? 0,
        'requests per delivered message (log scale)',
        true,
      ),
    });
    charts.push({
      name: 'latency-percentiles',
      caption: 'Delivery delay from the server accepting a message to a subscriber parsing it (log scale).',
      config: latencyPercentiles(`Delivery delay percentiles${at}`, subtitle, withMessages),
    });
    charts.push({
      name: 'latency-cdf',
      caption: 'The share of messages delivered within a given delay: the further left and the steeper, the better.',
      config: latencyCdf(`Delivery delay, cumulative${at}`, subtitle, withMessages),
    });
  }
  charts.push({
    name: 'bytes-per-client-minute',
    caption:
      'What one connected client costs per minute on the wire, whatever happens: with nothing published, this is the price of waiting.',
    config: stackedBytes(
      `Wire bytes per client per minute${at}`,
      subtitle,
      rows,
      (r, part) => r.bytes[part] / r.clients / (r.subscribedMs / 60_000) / 1000,
      'kB per client per minute',
    ),
  });
  if (withMessages.length === 0) {
    charts.push({
      name: 'requests-per-client-minute',
      caption:
        'HTTP requests per client per minute while nothing is published (a stream makes one request for the whole run, spread here over its minutes).',
      config: bars(
        `HTTP requests per client per minute${at}`,
        subtitle,
        rows,
        (r) => r.httpRequestsPerClientPerMinute,
        'requests per client per minute (log scale)',
        true,
      ),
    });
  }
  charts.push({
    name: 'theory-vs-measured',
    caption:
      'Measured ÷ predicted for each simple model: 1 means the model holds; a red outline means the gap is past the tolerance.',
    config: theoryChart(`Theory vs measurement${at}`, subtitle, rows),
  });
  if (rows.some((r) => r.server)) {
    charts.push({
      name: 'server-resources',
      caption:
        'The server process during the run: CPU time (bars), and how far its resident memory grew above where it started (points).',
      config: serverResources(`Server CPU and memory${at}`, subtitle, rows),
    });
  }
  charts.push(
    ...clientKindCharts(
      result,
      result.techniques.filter((t) => t.clients === largest && t.feed === firstFeed),
      subtitle,
      at,
    ),
  );
  const onRedis = result.techniques.filter(
    (t) => t.clients === largest && t.feed === 'redis' && t.messagesDelivered > 0 && kindOf(t) === firstKind,
  );
  if (onRedis.length > 0) {
    charts.push({
      name: 'backplane-latency',
      caption:
        "Delivery delay p50 and p99 per technique on the in-memory feed and through Redis: on the publisher's node, and cross-node (another server process) when there are several.",
      config: backplaneChart(
        `What the Redis backplane adds to delivery${at}`,
        subtitle,
        result.techniques.filter((t) => t.clients === largest && kindOf(t) === firstKind),
        onRedis,
      ),
    });
  }
  if (counts.length > 1) {
    const scaling = (
      name: string,
      title: string,
      axis: string,
      value: (r: TechniqueResult) => number | null,
      caption: string,
      logY = true,
    ): NamedChart => ({
      name,
      caption,
      config: scalingChart(
        title,
        subtitle,
        result.techniques.filter((t) => t.feed === firstFeed && sameRtt(t) && kindOf(t) === firstKind),
        value,
        axis,
        logY,
      ),
    });
    const anyMessages = result.techniques.some((r) => r.messagesDelivered > 0);
    if (anyMessages) {
      charts.push(
        scaling(
          'scaling-latency',
          'p99 delivery delay against clients',
          'p99 delay, ms (log scale)',
          (r) => r.latencyMs?.p99 ?? null,
          'How the slowest 1% of deliveries grows with the number of clients.',
        ),
      );
      charts.push(
        scaling(
          'scaling-bytes',
          'Wire bytes per delivered message against clients',
          'bytes per delivered message (log scale)',
          (r) => r.bytesPerMessage,
          'Per-message cost as clients grow.',
        ),
      );
    } else {
      charts.push(
        scaling(
          'scaling-bytes',
          'Wire bytes per client per minute against clients',
          'bytes per client per minute (log scale)',
          (r) => r.bytesPerClientPerMinute,
          'Per-client cost of waiting as clients grow.',
        ),
      );
    }
    if (result.techniques.some((r) => r.server)) {
      charts.push(
        scaling(
          'scaling-cpu',
          'Server CPU against clients',
          'server CPU, % of one core',
          (r) => r.server?.cpuPercent ?? null,
          'Server CPU over the whole run (connect, publish, drain), as clients grow.',
          false,
        ),
      );
    }
  }
  charts.push(
    ...roundTripSweepCharts(
      result.techniques.filter((t) => t.clients === largest && t.feed === firstFeed),
      subtitle,
    ),
  );
  const grid = intermediariesChart(result, subtitle);
  if (grid) charts.push(grid);
  charts.push(...protocolCharts(result, subtitle));
  charts.push(...strategyCharts(result, subtitle));
  return charts;
}

/** The options every chart starts from: its title, the run's configuration below it, titled axes. */
export function baseOptions(
  title: string,
  subtitle: string[],
  yTitle: string,
  logY: boolean,
  xTitle = 'technique',
): ChartConfiguration['options'] {
  return {
    plugins: {
      title: { display: true, text: title, font: { size: 20, weight: 'bold' }, padding: { top: 8, bottom: 4 } },
      subtitle: { display: true, text: subtitle, font: { size: 12 }, color: '#555', padding: { bottom: 12 } },
      legend: { position: 'top' },
    },
    scales: {
      x: { title: { display: true, text: xTitle, font: { size: 14 } }, grid: { color: GRID } },
      y: {
        type: logY ? 'logarithmic' : 'linear',
        beginAtZero: !logY,
        title: { display: true, text: yTitle, font: { size: 14 } },
        grid: { color: GRID },
      },
    },
  };
}

const PARTS = [
  { key: 'payload', label: 'payload (the message JSON)' },
  { key: 'framing', label: 'framing (envelopes, fields, frame headers, heartbeats)' },
  { key: 'responseHeaders', label: 'response headers' },
  { key: 'requestHeaders', label: 'request headers' },
] as const;

function stackedBytes(
  title: string,
  subtitle: string[],
  rows: TechniqueResult[],
  value: (r: TechniqueResult, part: (typeof PARTS)[number]['key']) => number,
  yTitle: string,
): ChartConfiguration {
  const options = baseOptions(title, subtitle, yTitle, false);
  if (options?.scales?.x) Object.assign(options.scales.x, { stacked: true });
  if (options?.scales?.y) Object.assign(options.scales.y, { stacked: true });
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: PARTS.map((part) => ({
        label: part.label,
        data: rows.map((r) => round1(value(r, part.key))),
        backgroundColor: PART_COLORS[part.key],
      })),
    },
    options,
  };
}

function bars(
  title: string,
  subtitle: string[],
  rows: TechniqueResult[],
  value: (r: TechniqueResult) => number,
  yTitle: string,
  logY: boolean,
): ChartConfiguration {
  const options = baseOptions(title, subtitle, yTitle, logY);
  if (options?.plugins?.legend) options.plugins.legend.display = false;
  // chart.js picks a log axis floor near the smallest value, which hides that bar: start a decade lower.
  if (logY && options?.scales?.y) Object.assign(options.scales.y, { min: decadeBelow(rows.map(value)) });
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: [
        {
          label: yTitle,
          data: rows.map((r) => round4(value(r))),
          backgroundColor: rows.map((r, i) => colorOf(r.technique, i)),
        },
      ],
    },
    options,
  };
}

function latencyPercentiles(title: string, subtitle: string[], rows: TechniqueResult[]): ChartConfiguration {
  const keys = ['p50', 'p90', 'p99', 'max'] as const;
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: keys.map((key) => ({
        label: key,
        data: rows.map((r) => round4(r.latencyMs?.[key] ?? 0)),
        backgroundColor: PERCENTILE_COLORS[key],
      })),
    },
    options: baseOptions(title, subtitle, 'delay, ms (log scale)', true),
  };
}

function backplaneChart(
  title: string,
  subtitle: string[],
  all: TechniqueResult[],
  onRedis: TechniqueResult[],
): ChartConfiguration {
  const memoryOf = (r: TechniqueResult) =>
    all.find((m) => m.feed === 'memory' && m.technique === r.technique)?.latencyMs ?? null;
  const sameOf = (r: TechniqueResult) => (r.latencyByNode ? r.latencyByNode.sameNode : r.latencyMs);
  const series: { label: string; of: (r: TechniqueResult) => LatencySummary | null; color: string }[] = [
    { label: 'memory', of: memoryOf, color: '#9aa5b1' },
    { label: onRedis.some((r) => r.nodes > 1) ? "Redis, publisher's node" : 'Redis', of: sameOf, color: '#d9534f' },
  ];
  if (onRedis.some((r) => r.latencyByNode?.otherNodes))
    series.push({ label: 'Redis, cross-node', of: (r) => r.latencyByNode?.otherNodes ?? null, color: '#8e2c2a' });
  return {
    type: 'bar',
    data: {
      labels: onRedis.map((r) => r.technique),
      datasets: series.flatMap((s) =>
        (['p50', 'p99'] as const).map((key) => ({
          label: `${s.label} ${key}`,
          data: onRedis.map((r) => round4(s.of(r)?.[key] ?? 0)),
          backgroundColor: s.color,
          // p99 hatched lighter than p50, so each pair reads as one series.
          ...(key === 'p99' ? { backgroundColor: `${s.color}88`, borderColor: s.color, borderWidth: 1 } : {}),
        })),
      ),
    },
    options: baseOptions(title, subtitle, 'delay, ms (log scale)', true),
  };
}

function latencyCdf(title: string, subtitle: string[], rows: TechniqueResult[]): ChartConfiguration {
  const options = baseOptions(
    title,
    subtitle,
    'messages delivered within the delay, %',
    false,
    'delay, ms (log scale)',
  );
  if (options?.scales) {
    options.scales.x = {
      type: 'logarithmic',
      title: { display: true, text: 'delay, ms (log scale)', font: { size: 14 } },
      grid: { color: GRID },
      ticks: { maxRotation: 0, autoSkipPadding: 24 },
    };
    options.scales.y = {
      min: 0,
      max: 100,
      title: { display: true, text: 'messages delivered within the delay, %', font: { size: 14 } },
      grid: { color: GRID },
    };
  }
  return {
    type: 'line',
    data: {
      datasets: rows.map((r, i) => ({
        label: variantLabel(r),
        data: (r.latencyMs?.percentiles ?? []).map((delay, k) => ({ x: Math.max(delay, 0.001), y: k })),
        borderColor: colorOf(r.technique, i),
        backgroundColor: colorOf(r.technique, i),
        pointRadius: 0,
        borderWidth: 2.5,
        stepped: true,
      })),
    },
    options,
  };
}

const METRIC_LABELS: Record<string, { label: string; color: string }> = {
  httpRequests: { label: 'HTTP requests', color: '#5d6d7e' },
  meanLatencyMs: { label: 'mean delay', color: '#48c9b0' },
  framingBytesPerMessage: { label: 'framing B/msg', color: '#f5b041' },
  firstMessageMs: { label: 'first message', color: '#af7ac5' },
};

function theoryChart(title: string, subtitle: string[], rows: TechniqueResult[]): ChartConfiguration {
  // One bar per (technique, model): multi-line labels name both.
  const checks = rows.flatMap((r) => r.theory.map((check) => ({ technique: r.technique, check })));
  const options = baseOptions(
    title,
    subtitle,
    'measured ÷ predicted (1 = the model holds)',
    false,
    'technique and model',
  );
  if (options?.scales?.y) Object.assign(options.scales.y, { suggestedMax: 1.5 });
  if (options?.scales?.x)
    Object.assign(options.scales.x, { ticks: { maxRotation: 0, autoSkip: false, font: { size: 11 } } });
  return {
    type: 'bar',
    data: {
      labels: checks.map(({ technique, check }) => [technique, METRIC_LABELS[check.metric]?.label ?? check.metric]),
      datasets: [
        {
          type: 'bar',
          label: 'measured ÷ predicted (red outline: past the tolerance)',
          data: checks.map(({ check }) => round4(check.ratio)),
          backgroundColor: checks.map(({ check }) => METRIC_LABELS[check.metric]?.color ?? '#999'),
          borderColor: checks.map(({ check }) => (check.agrees ? 'rgba(0,0,0,0)' : '#e01b24')),
          // A border is drawn inside the bar: none at all where the model holds, or the bar looks short.
          borderWidth: checks.map(({ check }) => (check.agrees ? 0 : 4)),
        },
        {
          type: 'line',
          label: 'model = measurement',
          data: checks.map(() => 1),
          borderColor: '#17202a',
          borderDash: [6, 4],
          pointRadius: 0,
          borderWidth: 1.5,
        },
      ] as ChartDataset[],
    },
    options,
  };
}

function serverResources(title: string, subtitle: string[], rows: TechniqueResult[]): ChartConfiguration {
  const options = baseOptions(title, subtitle, 'server CPU time during the run, ms', false);
  if (options?.scales) {
    options.scales.memory = {
      type: 'linear',
      position: 'right',
      beginAtZero: true,
      title: { display: true, text: 'memory growth during the run, MiB', font: { size: 14 } },
      grid: { drawOnChartArea: false },
    };
  }
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: [
        {
          label: 'CPU time, ms (left axis)',
          data: rows.map((r) => r.server?.cpuMs ?? null),
          backgroundColor: rows.map((r, i) => colorOf(r.technique, i)),
          yAxisID: 'y',
        },
        {
          label: 'memory growth: peak RSS − RSS at start, MiB (right axis)',
          data: rows.map((r) =>
            r.server ? round1((r.server.maxRssBytes - r.server.rssAtStartBytes) / 1024 / 1024) : null,
          ),
          backgroundColor: '#aab7b8',
          yAxisID: 'memory',
        },
      ],
    },
    options,
  };
}

function scalingChart(
  title: string,
  subtitle: string[],
  all: TechniqueResult[],
  value: (r: TechniqueResult) => number | null,
  yTitle: string,
  logY: boolean,
): ChartConfiguration {
  const techniques = [...new Set(all.map((r) => r.technique))];
  const options = baseOptions(title, subtitle, yTitle, logY, 'clients (log scale)');
  if (options?.scales)
    options.scales.x = {
      type: 'logarithmic',
      title: { display: true, text: 'clients (log scale)', font: { size: 14 } },
      grid: { color: GRID },
      ticks: { maxRotation: 0, autoSkipPadding: 24 },
    };
  return {
    type: 'line',
    data: {
      datasets: techniques.map((technique, i) => ({
        label: technique,
        data: all.filter((r) => r.technique === technique).map((r) => ({ x: r.clients, y: value(r) ?? Number.NaN })),
        borderColor: colorOf(technique, i),
        backgroundColor: colorOf(technique, i),
        borderWidth: 2.5,
        pointRadius: 4,
      })),
    },
    options,
  };
}

/** The power of ten at or below the smallest positive value. */
function decadeBelow(values: number[]): number {
  const positive = values.filter((v) => v > 0);
  return positive.length ? 10 ** Math.floor(Math.log10(Math.min(...positive))) : 1;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
