/**
 * A chart.js plugin that keeps, on every logarithmic axis spanning more than a decade,
 * only the ticks at 1, 2 and 5 × 10ⁿ: chart.js puts one at every 1…9 × 10ⁿ and labels those near the top of the axis
 * too, where they overprint. A plugin, not a tick callback, so the configuration stays
 * plain data the page draws again (view.js has the same few lines).
 */
import type { Plugin, Scale } from 'chart.js';

const KEPT = [1, 2, 5];

export const logTicks: Plugin = {
  id: 'logTicks',
  afterBuildTicks(_chart, args: { scale: Scale }) {
    const { scale } = args;
    // Within one decade the 1…9 ticks stand well apart, and 1, 2, 5 would leave one or none.
    if (scale.type !== 'logarithmic' || scale.max / scale.min <= 10) return;
    scale.ticks = scale.ticks.filter((tick) => {
      const mantissa = tick.value / 10 ** Math.floor(Math.log10(tick.value) + 1e-9);
      return KEPT.some((kept) => Math.abs(mantissa - kept) < 1e-6);
    });
  },
};
