/**
 * The charts tell the truth: every chart the report makes from the committed reference
 * runs, drawn by chart.js as for the PNG, is checked for what a reader would be misled by:
 * a value outside its axis (a bar hidden below the floor), a bar on an axis that does not
 * start at zero or is not linear (its length no longer proportional to its value), and a
 * colour that means a technique in one chart and something else in another.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Chart, ChartConfiguration } from 'chart.js';
import { techniques as TECHNIQUES } from '../../server/contract/techniques.js';
import type { BenchResult } from '../result.ts';
import { buildCharts } from './charts.ts';
import { withChart } from './png.ts';
import { describe, test } from '../../test/suite.ts';

const RESULTS = fileURLToPath(new URL('../../results/', import.meta.url));
const runs = readdirSync(RESULTS)
  .filter((dir) => existsSync(join(RESULTS, dir, 'results.json')))
  .map((dir) => ({ dir, result: JSON.parse(readFileSync(join(RESULTS, dir, 'results.json'), 'utf8')) as BenchResult }));

/** The registry id a label names (`websocket [deflate]`, `sse p99`, `forever-iframe (browser)`). */
function techniqueOf(label: unknown): string | undefined {
  // The peers' charts name realtime-lab's bars `realtime-lab <id>`, beside the libraries';
  // the storm's series are `<id>, jitter` and `<id>, no jitter`.
  const text = (Array.isArray(label) ? String(label[0]) : String(label ?? '')).replace(/^realtime-lab /, '');
  return TECHNIQUES.map((t) => t.id)
    .filter((id) => text === id || text.startsWith(`${id} `) || text.startsWith(`${id},`))
    .sort((a, b) => b.length - a.length)[0];
}

/** How close (RGB distance) a colour may come to a technique's before it reads as that technique. */
const LOOKS_ALIKE = 64;
const rgb = (hex: string) => [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
/** The technique a colour means or looks like (`#cb4335` reads as short polling's `#c0392b`), an alpha suffix ignored. */
function ownerOf(colour: unknown): string | undefined {
  if (typeof colour !== 'string' || !/^#[0-9a-f]{6}/i.test(colour)) return undefined;
  const [r, g, b] = rgb(colour);
  return TECHNIQUES.map((t) => {
    const [tr, tg, tb] = rgb(t.colour);
    return { id: t.id, distance: Math.hypot((r ?? 0) - (tr ?? 0), (g ?? 0) - (tg ?? 0), (b ?? 0) - (tb ?? 0)) };
  })
    .filter((t) => t.distance < LOOKS_ALIKE)
    .sort((a, b) => a.distance - b.distance)[0]?.id;
}

type Point = number | { x: number; y: number } | null;

/** Each drawn value and the id of the scale it is drawn on. */
function placedValues(chart: Chart): { scale: string; value: number; what: string }[] {
  const placed: { scale: string; value: number; what: string }[] = [];
  const horizontal = chart.options.indexAxis === 'y';
  const stackTotals = new Map<string, number[]>();
  chart.data.datasets.forEach((dataset, d) => {
    const meta = chart.getDatasetMeta(d);
    const valueScale = horizontal ? meta.xAxisID : meta.yAxisID;
    const indexScale = horizontal ? meta.yAxisID : meta.xAxisID;
    if (!valueScale || !indexScale) return;
    const stacked = Boolean((chart.scales[valueScale]?.options as { stacked?: unknown } | undefined)?.stacked);
    (dataset.data as Point[]).forEach((point, i) => {
      if (point === null || point === undefined) return;
      const what = `${dataset.label} #${i}`;
      if (typeof point === 'number') {
        if (!Number.isFinite(point)) return;
        if (stacked) {
          const totals = stackTotals.get(valueScale) ?? [];
          totals[i] = (totals[i] ?? 0) + point;
          stackTotals.set(valueScale, totals);
        } else placed.push({ scale: valueScale, value: point, what });
        return;
      }
      if (Number.isFinite(point.y)) placed.push({ scale: horizontal ? 'x' : valueScale, value: point.y, what });
      const xScale = chart.scales[indexScale];
      if (Number.isFinite(point.x) && xScale && xScale.type !== 'category')
        placed.push({ scale: indexScale, value: point.x, what: `${what} (x)` });
    });
  });
  for (const [scale, totals] of stackTotals)
    for (const [i, total] of totals.entries())
      if (total !== undefined) placed.push({ scale, value: total, what: `stack #${i}` });
  return placed;
}

/** Pairs of neighbouring tick labels whose text overlaps, on every axis, as drawn. */
function overprinted(chart: Chart): string[] {
  const found: string[] = [];
  for (const [id, scale] of Object.entries(chart.scales)) {
    const options = scale.options as { display?: unknown; ticks?: { display?: boolean } };
    if (!options.display || options.ticks?.display === false) continue;
    const horizontal = scale.isHorizontal();
    const spans = scale.getLabelItems().map((item) => {
      const lines = (Array.isArray(item.label) ? item.label : [item.label]).map(String);
      const font = item.font as { string: string; lineHeight: number; size: number };
      chart.ctx.font = font.string;
      const [x, y] = item.options.translation ?? [0, 0];
      // Along a horizontal axis, a label's width (its height once turned); along a vertical one, its height.
      const extent = horizontal
        ? scale.labelRotation
          ? font.size
          : Math.max(...lines.map((line) => chart.ctx.measureText(line).width))
        : font.lineHeight * lines.length;
      const at = horizontal ? x : y;
      return { text: lines.join(' '), from: at - extent / 2, to: at + extent / 2 };
    });
    const labelled = spans.filter((span) => span.text.trim() !== '').sort((a, b) => a.from - b.from);
    for (let i = 1; i < labelled.length; i++) {
      const [before, after] = [labelled[i - 1], labelled[i]];
      if (before && after && after.from < before.to - 0.5)
        found.push(`${id}: "${before.text}" and "${after.text}" overlap`);
    }
  }
  return found;
}

function isBar(config: ChartConfiguration, dataset: { type?: string }): boolean {
  return (dataset.type ?? config.type) === 'bar';
}

describe('the charts of the committed reference runs', () => {
  test('there are reference runs to check', () => {
    assert.ok(runs.length >= 5, `only ${runs.length} runs under results/`);
  });

  for (const { dir, result } of runs) {
    test(`${dir}: every value inside its axis, every bar from zero on a linear axis, no tick label over another`, async () => {
      for (const { name, config } of buildCharts(result)) {
        await withChart(config, async (chart) => {
          for (const { scale, value, what } of placedValues(chart)) {
            const axis = chart.scales[scale];
            assert.ok(axis, `${dir}/${name}: no scale ${scale}`);
            assert.ok(
              axis.min <= value && value <= axis.max,
              `${dir}/${name}: ${what} = ${value} outside the ${scale} axis [${axis.min}, ${axis.max}]`,
            );
          }
          assert.deepEqual(overprinted(chart), [], `${dir}/${name}: tick labels overprint`);
          chart.data.datasets.forEach((dataset, d) => {
            if (!isBar(config, dataset as { type?: string })) return;
            const meta = chart.getDatasetMeta(d);
            const axis = chart.scales[(chart.options.indexAxis === 'y' ? meta.xAxisID : meta.yAxisID) ?? 'y'];
            assert.equal(axis?.type, 'linear', `${dir}/${name}: bars of ${dataset.label} on a ${axis?.type} axis`);
            assert.ok(
              (axis?.min ?? 1) <= 0,
              `${dir}/${name}: the bars of ${dataset.label} start at ${axis?.min}, not 0`,
            );
          });
        });
      }
    });
  }

  test('a technique has its registry colour in every chart, and no other dataset uses a technique colour', () => {
    const seen = new Set<string>();
    for (const { dir, result } of runs) {
      for (const { name, config } of buildCharts(result)) {
        const labels = (config.data.labels ?? []) as unknown[];
        for (const dataset of config.data.datasets) {
          const record = dataset as unknown as Record<string, unknown>;
          for (const key of ['backgroundColor', 'borderColor', 'pointBackgroundColor', 'pointBorderColor']) {
            const value = record[key];
            const colours = Array.isArray(value) ? value : [value];
            colours.forEach((colour, i) => {
              const owner = ownerOf(colour);
              if (!owner) return;
              // An array colours each point: its technique is the point's label; one colour, the dataset's.
              const means = Array.isArray(value) ? techniqueOf(labels[i]) : techniqueOf(dataset.label);
              assert.equal(
                means,
                owner,
                `${dir}/${name}: ${dataset.label} ${key}${Array.isArray(value) ? `[${i}]` : ''} is ${owner}'s colour (or one like it) ${colour}, drawn for ${means ?? 'no technique'}`,
              );
              // Its own colour exactly, not a shade of it: the same as on the pages.
              assert.equal(
                String(colour).slice(0, 7).toLowerCase(),
                TECHNIQUES.find((t) => t.id === owner)?.colour.toLowerCase(),
                `${dir}/${name}: ${dataset.label} draws ${owner} in ${colour}, not its registry colour`,
              );
              seen.add(owner);
            });
          }
        }
      }
    }
    // Not a vacuous pass: the techniques of the runs are drawn in their colours somewhere.
    for (const id of ['short-polling', 'long-polling', 'forever-iframe', 'sse', 'websocket'])
      assert.ok(seen.has(id), `${id}'s colour is in no chart`);
  });
});
