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
import { dotPlot } from './dots.ts';
import { strategyCharts } from './strategies.ts';
import { crowdCharts } from './crowd.ts';
import { peersCharts } from './peers.ts';
import { stormCharts } from './storm.ts';

export interface NamedChart {
  /** File name without extension: `bytes-per-message` → bytes-per-message.png. */
  name: string;
  /** What a reader learns from it, one sentence, for the summary and the page. */
  caption: string;
  config: ChartConfiguration;
}

/** Colours for ids the registry does not know (a results.json from another version). */
const SPARE_COLORS = ['#b7950b', '#117a65', '#6c3483', '#1abc9c'];

/**
 * Colours that mean something other than a technique (byte parts, models, series): greys
 * only, so that a colour always means one technique and nothing else, in every chart.
 */
export const NEUTRALS = Object.freeze({ darkest: '#212f3d', dark: '#566573', mid: '#99a3a4', light: '#d5d8dc' });
/** Colours of the byte parts, stacked bottom to top: darkest for the message itself. */
const PART_COLORS = {
  payload: NEUTRALS.darkest,
  framing: NEUTRALS.dark,
  responseHeaders: NEUTRALS.mid,
  requestHeaders: NEUTRALS.light,
};
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
    return [
      ...protocolCharts(result, subtitles),
      ...strategyCharts(result, subtitles),
      ...crowdCharts(result, subtitles),
      ...peersCharts(result, subtitles),
      ...stormCharts(result, subtitles),
    ];
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
  // And direct only: the intermediaries chart sets each technique behind each proxy side by side.
  const direct = (t: TechniqueResult) => !t.intermediary || t.intermediary.name === 'none';
  const rows = result.techniques.filter(
    (t) => t.clients === largest && t.feed === firstFeed && sameRtt(t) && kindOf(t) === firstKind && direct(t),
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
        'HTTP requests per delivered message, one dot per technique on a log scale (grid lines at 1, 2 and 5 × each power of ten): polling pays a request per answer, streams one per connection.',
      config: dotPlot(
        `HTTP requests per delivered message${at}`,
        subtitle,
        columnsOf(withMessages),
        [
          {
            label: 'requests per message',
            values: withMessages.map((r) => r.httpRequestsPerMessage),
            pointStyle: 'circle',
          },
        ],
        'requests per delivered message (log scale)',
        '● requests per delivered message',
      ),
    });
    charts.push({
      name: 'latency-percentiles',
      caption:
        'Delivery delay from the server accepting a message to a subscriber parsing it: p50, p90, p99 and max as dots on a log scale (grid lines at 1, 2 and 5 × each power of ten).',
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
      withMessages.length > 0
        ? 'What one connected client costs per minute on the wire, over the time it was connected (publishing, then waiting for the last deliveries). Every technique carried the same messages, but a short poller is connected up to two poll intervals longer (its first polls spread over one interval, its last one up to an interval after the last publish), so the same payload is spread over more minutes and its payload part looks smaller: compare bytes per delivered message for the cost of a message.'
        : 'What one connected client costs per minute on the wire with nothing published: the price of waiting.',
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
      config: dotPlot(
        `HTTP requests per client per minute${at}`,
        subtitle,
        columnsOf(rows),
        [
          {
            label: 'requests per client per minute',
            values: rows.map((r) => r.httpRequestsPerClientPerMinute),
            pointStyle: 'circle',
          },
        ],
        'requests per client per minute (log scale)',
        '● requests per client per minute',
      ),
    });
  }
  charts.push({
    name: 'theory-vs-measured',
    caption:
      'Measured ÷ predicted for each simple model, one bar per model (its grey in the legend): 1 (the dashed line) means the model holds; a thick black outline means the gap is past the tolerance.',
    config: theoryChart(`Theory vs measurement${at}`, subtitle, rows),
  });
  if (rows.some((r) => r.server)) {
    charts.push({
      name: 'server-resources',
      caption:
        'The server process during the run: CPU time (dark bars, left axis), and how far its resident memory grew above where it started (light bars, right axis).',
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
        "What Redis added to the delivery delay (p50 and p99, Redis minus the in-memory feed, ms; below zero: faster through Redis, the run-to-run noise): on the publisher's node, and cross-node (another server process) when there are several.",
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
      // Labels never overprint: skipped when they would touch, turned at most 45°.
      x: {
        title: { display: true, text: xTitle, font: { size: 14 } },
        grid: { color: GRID },
        ticks: { autoSkip: true, autoSkipPadding: 12, maxRotation: 45 },
      },
      y: {
        type: logY ? 'logarithmic' : 'linear',
        beginAtZero: !logY,
        title: { display: true, text: yTitle, font: { size: 14 } },
        grid: { color: GRID },
        ticks: { autoSkip: true, autoSkipPadding: 8 },
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
  // Compressed frames (permessage-deflate) are smaller than the JSON they carry, which the
  // accounting books as negative framing: a bar below zero that says nothing true. Such a
  // row draws what went on the wire for its messages as one part, the payload.
  const compressed = (r: TechniqueResult) => r.bytes.framing < 0;
  const drawn = (r: TechniqueResult, key: (typeof PARTS)[number]['key']) => {
    if (!compressed(r) || (key !== 'payload' && key !== 'framing')) return value(r, key);
    return key === 'framing' ? 0 : value(r, 'payload') + value(r, 'framing');
  };
  const note = rows.some(compressed)
    ? ['compressed rows: payload and framing drawn as one (the compressed frames), as they went on the wire']
    : [];
  const options = baseOptions(title, [...subtitle, ...note], yTitle, false);
  if (options?.scales?.x) Object.assign(options.scales.x, { stacked: true });
  if (options?.scales?.y) Object.assign(options.scales.y, { stacked: true });
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: PARTS.map((part) => ({
        label: part.label,
        data: rows.map((r) => round1(drawn(r, part.key))),
        backgroundColor: PART_COLORS[part.key],
      })),
    },
    options,
  };
}

/** The columns of a dot plot: each row's label and the technique whose colour it takes. */
function columnsOf(rows: TechniqueResult[]): { label: string; technique: string }[] {
  return rows.map((r) => ({ label: variantLabel(r), technique: r.technique }));
}

function latencyPercentiles(title: string, subtitle: string[], rows: TechniqueResult[]): ChartConfiguration {
  const shapes = { p50: 'circle', p90: 'triangle', p99: 'rect', max: 'crossRot' } as const;
  return dotPlot(
    title,
    subtitle,
    columnsOf(rows),
    (['p50', 'p90', 'p99', 'max'] as const).map((key) => ({
      label: key,
      values: rows.map((r) => (r.latencyMs ? round4(r.latencyMs[key]) : null)),
      pointStyle: shapes[key],
    })),
    'delay, ms (log scale)',
    '● p50   ▲ p90   ■ p99   ✕ max',
  );
}

/**
 * What Redis added, per technique: a difference, so bars from zero on a linear axis show
 * it at its true size (the delays themselves span decades, which bars cannot show).
 */
function backplaneChart(
  title: string,
  subtitle: string[],
  all: TechniqueResult[],
  onRedis: TechniqueResult[],
): ChartConfiguration {
  const memoryOf = (r: TechniqueResult) =>
    all.find((m) => m.feed === 'memory' && m.technique === r.technique)?.latencyMs ?? null;
  const sameOf = (r: TechniqueResult) => (r.latencyByNode ? r.latencyByNode.sameNode : r.latencyMs);
  const series: { label: string; of: (r: TechniqueResult) => LatencySummary | null; colors: [string, string] }[] = [
    {
      label: onRedis.some((r) => r.nodes > 1) ? "publisher's node" : 'Redis',
      of: sameOf,
      colors: [NEUTRALS.dark, NEUTRALS.light],
    },
  ];
  if (onRedis.some((r) => r.latencyByNode?.otherNodes))
    series.push({
      label: 'cross-node',
      of: (r) => r.latencyByNode?.otherNodes ?? null,
      colors: [NEUTRALS.darkest, NEUTRALS.mid],
    });
  const added = (r: TechniqueResult, of: (r: TechniqueResult) => LatencySummary | null, key: 'p50' | 'p99') => {
    const redis = of(r)?.[key];
    const memory = memoryOf(r)?.[key];
    return redis === undefined || memory === undefined ? null : round4(redis - memory);
  };
  return {
    type: 'bar',
    data: {
      labels: onRedis.map((r) => r.technique),
      datasets: series.flatMap((s) =>
        (['p50', 'p99'] as const).map((key, k) => ({
          label: `${s.label} ${key}`,
          data: onRedis.map((r) => added(r, s.of, key)),
          backgroundColor: s.colors[k],
          borderColor: NEUTRALS.darkest,
          borderWidth: 1,
        })),
      ),
    },
    options: baseOptions(title, subtitle, 'delay added by Redis, ms (Redis − in-memory feed)', false),
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

/** Each model's name and grey: the legend of the theory chart. */
const METRIC_LABELS: Record<string, { label: string; color: string }> = {
  httpRequests: { label: 'HTTP requests', color: NEUTRALS.darkest },
  meanLatencyMs: { label: 'mean delay', color: NEUTRALS.dark },
  framingBytesPerMessage: { label: 'framing B/msg', color: NEUTRALS.mid },
  firstMessageMs: { label: 'first message', color: NEUTRALS.light },
};

function theoryChart(title: string, subtitle: string[], rows: TechniqueResult[]): ChartConfiguration {
  // One group per technique, one bar per model it has: the legend names each model's grey.
  const metrics = [...new Set(rows.flatMap((r) => r.theory.map((check) => check.metric)))];
  const options = baseOptions(
    title,
    [...subtitle, 'thick black outline: measured past the model’s tolerance · dashed line: measured = predicted'],
    'measured ÷ predicted (1 = the model holds)',
    false,
  );
  if (options?.scales?.y) Object.assign(options.scales.y, { suggestedMax: 1.5 });
  const checkOf = (r: TechniqueResult, metric: string) => r.theory.find((check) => check.metric === metric);
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: [
        ...metrics.map((metric) => ({
          type: 'bar' as const,
          label: METRIC_LABELS[metric]?.label ?? metric,
          data: rows.map((r) => {
            const check = checkOf(r, metric);
            return check ? round4(check.ratio) : null;
          }),
          // A technique without this model leaves no gap in its group.
          skipNull: true,
          backgroundColor: METRIC_LABELS[metric]?.color ?? NEUTRALS.mid,
          borderColor: rows.map((r) => (checkOf(r, metric)?.agrees === false ? '#000000' : NEUTRALS.darkest)),
          // Thick past the tolerance (not red: red is short polling's); a hairline otherwise, or the light greys vanish.
          borderWidth: rows.map((r) => (checkOf(r, metric)?.agrees === false ? 5 : 1)),
        })),
        {
          type: 'line',
          label: 'measured = predicted',
          data: rows.map(() => 1),
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
      title: { display: true, text: 'memory growth during the run, MB', font: { size: 14 } },
      grid: { drawOnChartArea: false },
    };
  }
  // One colour per series (not per technique), so that the legend's swatches are the bars.
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => variantLabel(r)),
      datasets: [
        {
          label: 'CPU time, ms (left axis)',
          data: rows.map((r) => r.server?.cpuMs ?? null),
          backgroundColor: NEUTRALS.dark,
          yAxisID: 'y',
        },
        {
          label: 'memory growth: peak RSS − RSS at start, MB (right axis)',
          data: rows.map((r) => (r.server ? round1((r.server.maxRssBytes - r.server.rssAtStartBytes) / 1e6) : null)),
          backgroundColor: NEUTRALS.light,
          borderColor: NEUTRALS.dark,
          borderWidth: 1,
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

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
