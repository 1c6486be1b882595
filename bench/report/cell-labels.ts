/**
 * A chart.js plugin that writes text in the middle of each bar, from plain data in the
 * chart's options (`plugins.cellLabels.lines[dataset][index]`: lines of text), so the
 * configuration stays data the page can draw again (view.js has the same few lines).
 */
import type { Chart, Plugin } from 'chart.js';

export const cellLabels: Plugin = {
  id: 'cellLabels',
  afterDatasetsDraw(chart: Chart, _args, options: { lines?: string[][][] }) {
    if (!options?.lines) return;
    const { ctx } = chart;
    ctx.save();
    ctx.fillStyle = '#17202a';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `13px ${chart.options.font?.family ?? 'sans-serif'}`;
    options.lines.forEach((perBar, datasetIndex) => {
      const bars = chart.getDatasetMeta(datasetIndex).data as unknown as { x: number; y: number; base: number }[];
      perBar.forEach((lines, index) => {
        const bar = bars[index];
        if (!bar) return;
        const x = (bar.x + bar.base) / 2;
        for (const [n, line] of lines.entries()) ctx.fillText(line, x, bar.y + (n - (lines.length - 1) / 2) * 16);
      });
    });
    ctx.restore();
  },
};
