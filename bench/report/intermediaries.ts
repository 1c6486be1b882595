/**
 * What the intermediaries did to each technique, as a Markdown table (it reads as well in
 * a terminal), and the grid chart: techniques down, intermediaries across, each cell
 * coloured by verdict with its delay in it. Null / none when the run had no --intermediary.
 */
import type { ChartConfiguration } from 'chart.js';
import { delay } from '../network/verdict.ts';
import type { BenchResult, TechniqueResult } from '../result.ts';
import type { NamedChart } from './charts.ts';
import { count, ms } from './format.ts';

/**
 * The colour of each verdict, in the chart and its caption: pale tints, under dark text,
 * that no technique's colour comes near (a colour means one technique in every chart).
 */
export const VERDICT_COLORS = Object.freeze({ delivered: '#d4efdf', late: '#fdebd0', broken: '#f5b7b1' });

function behind(result: BenchResult): TechniqueResult[] {
  return result.techniques.filter((r) => r.intermediary);
}

export function renderIntermediaries(result: BenchResult): string | null {
  const rows = behind(result);
  if (rows.length === 0) return null;
  const lines = ['## Behind intermediaries', ''];
  lines.push(
    'Each technique direct (`none`), then behind each intermediary, subscribers only (the publisher posts direct). ' +
      '**late**: everything arrived, but the p90 delay more than doubled and grew by over 50 ms; **broken**: something never arrived, or the subscribers could not connect. ' +
      'First message: the median over subscribers of their first message’s delay.',
    '',
  );
  lines.push(
    '| technique | intermediary | verdict | delivered / expected | delay p50 | p90 | max | first message | errors | reconnects | what the client saw |',
  );
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const i = r.intermediary;
    if (!i) continue;
    const l = r.latencyMs;
    const saw = [i.connectError ? `first connection: ${i.connectError}` : '', i.why].filter(Boolean).join('; ');
    lines.push(
      `| ${r.technique} | ${i.name} | ${i.verdict} | ${count(r.messagesDelivered)} / ${count(r.messagesExpected)} | ${ms(l?.p50)} ms | ${ms(l?.p90)} | ${ms(l?.max)} | ${ms(i.firstMessageDelayMs)} ms | ${r.subscriberErrors} | ${r.reconnects} | ${saw} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** The grid chart: one bar per technique, one equal segment per intermediary, coloured by verdict. */
export function intermediariesChart(result: BenchResult, subtitle: string[]): NamedChart | null {
  const rows = behind(result);
  if (rows.length === 0) return null;
  const techniques = [...new Set(rows.map((r) => r.technique))];
  const names = [...new Set(rows.map((r) => r.intermediary?.name ?? ''))];
  const cell = (technique: string, name: string) =>
    rows.find((r) => r.technique === technique && r.intermediary?.name === name);
  const config: ChartConfiguration = {
    type: 'bar',
    data: {
      labels: techniques,
      datasets: names.map((name) => ({
        label: name,
        data: techniques.map(() => 1),
        backgroundColor: techniques.map((t) => VERDICT_COLORS[cell(t, name)?.intermediary?.verdict ?? 'broken']),
        borderColor: '#ffffff',
        borderWidth: 3,
        barPercentage: 1,
        categoryPercentage: 0.96,
      })),
    },
    options: {
      indexAxis: 'y',
      plugins: {
        title: {
          display: true,
          text: 'What each intermediary does to each technique',
          font: { size: 20, weight: 'bold' },
          padding: { top: 8, bottom: 4 },
        },
        subtitle: {
          display: true,
          text: [
            ...subtitle,
            `green: delivered as direct · amber: late (p90 more than doubled, +50 ms) · red: broken (lost messages or no connection) · cells: p90 delay, or what failed`,
          ],
          font: { size: 12 },
          color: '#555',
          padding: { bottom: 12 },
        },
        legend: { display: false },
        // Drawn by the cell-labels plugin (png.ts, view.js): each cell's intermediary and delay.
        cellLabels: {
          lines: names.map((name) => techniques.map((t) => cellText(name, cell(t, name)))),
        },
      } as Record<string, unknown>,
      scales: {
        x: {
          stacked: true,
          min: 0,
          max: names.length,
          ticks: { display: false },
          grid: { display: false },
          title: { display: true, text: `intermediary: ${names.join(' · ')}`, font: { size: 14 } },
        },
        y: { stacked: true, grid: { display: false }, ticks: { font: { size: 14 } } },
      },
    },
  };
  return {
    name: 'intermediaries',
    caption:
      'Each technique (row) behind each intermediary (column): green delivered as well as direct, amber late, red broken; each cell gives the p90 delay or what failed.',
    config,
  };
}

function cellText(name: string, r: TechniqueResult | undefined): string[] {
  const i = r?.intermediary;
  if (!r || !i) return [name, 'not run'];
  if (i.verdict === 'broken') {
    const share =
      r.messagesExpected > 0 ? `${Math.floor((r.messagesDelivered / r.messagesExpected) * 100)}% arrived` : '';
    const refused = Object.entries(i.figures.statuses ?? {})
      .filter(([status]) => !status.startsWith('2'))
      .map(([status]) => status)
      .join(', ');
    return [name, share, refused ? `HTTP ${refused}` : r.latencyMs ? `p90 ${delay(r.latencyMs.p90)}` : ''].filter(
      Boolean,
    );
  }
  return [
    name,
    `p90 ${delay(r.latencyMs?.p90 ?? 0)}`,
    i.firstMessageDelayMs === null ? '' : `1st ${delay(i.firstMessageDelayMs)}`,
  ].filter(Boolean);
}
