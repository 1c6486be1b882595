/**
 * Renders chart.js configurations to PNG in Node, on @napi-rs/canvas (a Skia canvas that
 * ships prebuilt binaries as npm packages: nothing is downloaded or compiled at install).
 */
import { existsSync } from 'node:fs';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration, type ChartItem, type Plugin, registerables } from 'chart.js';
import { cellLabels } from './cell-labels.ts';
import { logTicks } from './log-ticks.ts';

Chart.register(...registerables, cellLabels, logTicks);
// chart.js's default grey text is too faint on a projector.
Chart.defaults.color = '#1c2833';

export const PNG_WIDTH = 1200;
export const PNG_HEIGHT = 675;

/** Fonts tried in order; Debian's fonts-dejavu-core provides the first. */
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
];
let fontReady = false;

/** Chart.js draws on a transparent canvas; a PNG viewer would show it on black or grey. */
const whiteBackground: Plugin = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

function ensureFont(): void {
  if (fontReady) return;
  fontReady = true;
  for (const file of FONT_FILES) {
    if (existsSync(file) && GlobalFonts.registerFromPath(file, 'ChartSans')) {
      Chart.defaults.font.family = 'ChartSans';
      return;
    }
  }
  // Skia falls back to any system font; if there is none, labels are missing.
  if (GlobalFonts.families.length === 0) process.emitWarning('no font found for the charts: install fonts-dejavu-core');
}

/**
 * The chart drawn on a canvas of the PNG's size, laid out as in the PNG, for `use` to read
 * (the PNG, or the scales' ranges a test checks); destroyed afterwards.
 */
export async function withChart<T>(
  config: ChartConfiguration,
  use: (chart: Chart, encode: () => Promise<Buffer>) => Promise<T>,
): Promise<T> {
  ensureFont();
  const canvas = createCanvas(PNG_WIDTH, PNG_HEIGHT);
  const chart = new Chart(
    canvas as unknown as ChartItem,
    {
      // A copy: chart.js writes its resolved options back into the configuration it is given.
      ...structuredClone(config),
      options: { ...structuredClone(config.options), responsive: false, animation: false, devicePixelRatio: 1 },
      plugins: [whiteBackground],
    } as ChartConfiguration,
  );
  try {
    return await use(chart, () => canvas.encode('png'));
  } finally {
    chart.destroy();
  }
}

export async function renderPng(config: ChartConfiguration): Promise<Buffer> {
  return withChart(config, (_chart, encode) => encode());
}
