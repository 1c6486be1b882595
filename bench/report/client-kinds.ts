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
import { dotPlot } from './dots.ts';

const KIND_LABELS: Record<ClientKind, string> = { node: 'Node clients', browser: 'Chromium pages' };
/** Greys, light for Node and dark for the browser: colours are the techniques'. */
const KIND_COLORS: Record<ClientKind, string> = { node: '#99a3a4', browser: '#212f3d' };

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
        'Delivery delay p50 and p99 per technique measured by Node clients (hollow) and by Chromium pages running the demo page’s clients (filled), in the same run: dots on a log scale.',
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
        backgroundColor: KIND_COLORS[kind],
      })),
    },
    options: baseOptions(title, subtitle, 'request header bytes per HTTP request', false),
  };
}

/** Delays span decades (a short poll beside a stream): dots on a log axis, not bars. */
function delayChart(title: string, subtitle: string[], pairs: Pair[]): ChartConfiguration {
  const series = (['node', 'browser'] as const).flatMap((kind) =>
    (['p50', 'p99'] as const).map((percentile) => ({
      label: `${KIND_LABELS[kind]}, ${percentile}`,
      values: pairs.map((pair) => {
        const value = pair[kind].latencyMs?.[percentile];
        return value === undefined ? null : Math.round(value * 1000) / 1000;
      }),
      pointStyle: percentile === 'p50' ? ('circle' as const) : ('triangle' as const),
      hollow: kind === 'node',
    })),
  );
  return dotPlot(
    title,
    subtitle,
    pairs.map((pair) => ({ label: pair.technique, technique: pair.technique })),
    series,
    'delay, ms (log scale)',
    '● p50   ▲ p99   hollow: Node clients   filled: Chromium pages',
  );
}
