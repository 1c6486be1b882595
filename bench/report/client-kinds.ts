/**
 * The charts that set Node clients and browser clients side by side, for a run made with
 * both (`--client-kinds node,browser`): what each kind sends in request headers per HTTP
 * request (a browser sends four times what autocannon does), and the delays each kind
 * measured for the same technique on the same machine, a moment apart.
 */
import type { ChartConfiguration } from 'chart.js';
import type { ClientKind } from '../options.ts';
import type { BenchResult, TechniqueResult } from '../result.ts';
import { type NamedChart, baseOptions } from './charts.ts';

const KIND_LABELS: Record<ClientKind, string> = { node: 'Node clients', browser: 'Chromium pages' };
/** Light for Node, dark for the browser; the p99 bars a shade darker than the p50. */
const KIND_COLORS: Record<ClientKind, { p50: string; p99: string }> = {
  node: { p50: '#aeb6bf', p99: '#5d6d7e' },
  browser: { p50: '#85c1e9', p99: '#1b4f72' },
};

/** A result row's kind: runs from before browser clients had Node clients only. */
export function kindOf(row: TechniqueResult): ClientKind {
  return row.clientKind ?? 'node';
}

/** Per technique, in run order, its Node row and its browser row, when both ran (same clients, same feed). */
export function pairsByKind(
  rows: readonly TechniqueResult[],
): { technique: string; node: TechniqueResult; browser: TechniqueResult }[] {
  const techniques = [...new Set(rows.map((row) => row.technique))];
  return techniques.flatMap((technique) => {
    const node = rows.find((row) => row.technique === technique && kindOf(row) === 'node');
    const browser = rows.find((row) => row.technique === technique && kindOf(row) === 'browser');
    return node && browser ? [{ technique, node, browser }] : [];
  });
}

/** The side-by-side charts, or none when the run had one kind of client. */
export function clientKindCharts(
  result: BenchResult,
  rows: readonly TechniqueResult[],
  subtitle: string[],
  at: string,
): NamedChart[] {
  const pairs = pairsByKind(rows);
  if (pairs.length === 0) return [];
  const charts: NamedChart[] = [
    {
      name: 'client-kinds-request-headers',
      caption:
        'Request header bytes per HTTP request, as the server counted them on its sockets: what a browser sends with every request (User-Agent, Accept-*, Sec-Fetch-*, Referer) beside what the bench’s Node clients send.',
      config: headersChart(`Request headers per HTTP request, Node clients vs Chromium${at}`, subtitle, pairs),
    },
  ];
  const withDelays = pairs.filter((pair) => pair.node.latencyMs && pair.browser.latencyMs);
  if (withDelays.length > 0 && result.config.rate > 0) {
    charts.push({
      name: 'client-kinds-delay',
      caption:
        'Delivery delay p50 and p99 per technique measured by Node clients and by Chromium pages running the demo page’s clients, in the same run (log scale).',
      config: delayChart(`Delivery delay, Node clients vs Chromium${at}`, subtitle, withDelays),
    });
  }
  return charts;
}

type Pair = ReturnType<typeof pairsByKind>[number];

function headersChart(title: string, subtitle: string[], pairs: Pair[]): ChartConfiguration {
  const perRequest = (row: TechniqueResult) =>
    row.httpRequests > 0 ? Math.round((row.bytes.requestHeaders / row.httpRequests) * 10) / 10 : 0;
  return {
    type: 'bar',
    data: {
      labels: pairs.map((pair) => pair.technique),
      datasets: (['node', 'browser'] as const).map((kind) => ({
        label: KIND_LABELS[kind],
        data: pairs.map((pair) => perRequest(pair[kind])),
        backgroundColor: KIND_COLORS[kind].p99,
      })),
    },
    options: baseOptions(title, subtitle, 'request header bytes per HTTP request', false),
  };
}

function delayChart(title: string, subtitle: string[], pairs: Pair[]): ChartConfiguration {
  const datasets = (['p50', 'p99'] as const).flatMap((percentile) =>
    (['node', 'browser'] as const).map((kind) => ({
      label: `${KIND_LABELS[kind]}, ${percentile}`,
      data: pairs.map((pair) => Math.round((pair[kind].latencyMs?.[percentile] ?? 0) * 1000) / 1000),
      backgroundColor: KIND_COLORS[kind][percentile],
    })),
  );
  const options = baseOptions(title, subtitle, 'delay, ms (log scale)', true);
  // A log axis starts near its smallest value, which would hide that bar: start at least
  // half a decade below it.
  const smallest = Math.min(...datasets.flatMap((dataset) => dataset.data).filter((value) => value > 0));
  if (options?.scales?.y && Number.isFinite(smallest))
    Object.assign(options.scales.y, { min: 10 ** Math.floor(Math.log10(smallest) - 0.3) });
  return { type: 'bar', data: { labels: pairs.map((pair) => pair.technique), datasets }, options };
}
