/**
 * Writes a run to its output folder: results.json, summary.md, one PNG per chart,
 * index.html with chart.js and the script that draws the charts beside it.
 */
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../result.ts';
import { buildCharts } from './charts.ts';
import { renderHtml } from './html.ts';
import { renderPng } from './png.ts';
import { renderSummary } from './summary.ts';

const require = createRequire(import.meta.url);

export async function writeReport(
  result: BenchResult,
  out: string,
  onFile: (file: string) => void = () => undefined,
): Promise<string[]> {
  await mkdir(out, { recursive: true });
  // PNGs of an earlier run in this folder would sit beside the new ones and mislead.
  for (const file of await readdir(out)) {
    if (file.endsWith('.png')) await rm(join(out, file));
  }
  const charts = buildCharts(result);
  const written: string[] = [];
  const write = async (file: string, data: string | Buffer) => {
    await writeFile(join(out, file), data);
    written.push(file);
    onFile(file);
  };
  await write('results.json', `${JSON.stringify(result, null, 2)}\n`);
  for (const chart of charts) await write(`${chart.name}.png`, await renderPng(chart.config));
  await write('summary.md', renderSummary(result, charts));
  await write('index.html', renderHtml(result, charts));
  // The UMD build is not in chart.js's `exports`; it sits beside the CommonJS entry.
  await copyFile(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), join(out, 'chart.umd.js'));
  for (const file of ['view.js', 'results.css'])
    await copyFile(fileURLToPath(new URL(file, import.meta.url)), join(out, file));
  written.push('chart.umd.js', 'view.js', 'results.css');
  return written;
}
