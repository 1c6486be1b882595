/**
 * A dot plot on a log axis: one column per technique, one marker per figure, in the
 * technique's colour. Used where the values span decades (a 500 ms short poll beside a
 * 3 ms stream): a bar's length must be proportional to its value, which a log axis cannot
 * give, while a dot's position reads right on it. The legend is in the subtitle, since a
 * chart.js legend would show one technique's colour for a series that has them all.
 */
import type { ChartConfiguration, PointStyle } from 'chart.js';
import { baseOptions, colorOf } from './charts.ts';

/** One figure per technique, drawn with its own marker shape. */
export interface DotSeries {
  label: string;
  /** One value per column; null where there is none. */
  values: (number | null)[];
  pointStyle: PointStyle;
  /** Hollow markers (a ring in the technique's colour) tell a second set apart. */
  hollow?: boolean;
}

export function dotPlot(
  title: string,
  subtitle: string[],
  /** `colour`, where given, instead of the technique's (a column that is no technique of the registry). */
  columns: { label: string; technique: string; colour?: string | undefined }[],
  series: DotSeries[],
  yTitle: string,
  /** What each marker means, in words and glyphs: `● p50  ▲ p99`. */
  key: string,
): ChartConfiguration {
  const options = baseOptions(title, [...subtitle, `markers: ${key}`], yTitle, true);
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  if (options?.plugins?.legend) options.plugins.legend.display = false;
  // From a round number clear below the smallest value to one clear above the largest, so
  // no marker sits on (or past) an edge and no decade is left empty.
  if (options?.scales?.y && values.length > 0)
    Object.assign(options.scales.y, {
      min: roundBelow(Math.min(...values) / 1.5),
      max: roundAbove(Math.max(...values) * 1.5),
    });
  // The first and last columns half a column in from the edges, as bars would be.
  if (options?.scales?.x) Object.assign(options.scales.x, { offset: true });
  const colours = columns.map((c, i) => c.colour ?? colorOf(c.technique, i));
  return {
    type: 'line',
    data: {
      labels: columns.map((c) => c.label),
      datasets: series.map((s) => ({
        label: s.label,
        data: s.values,
        showLine: false,
        pointStyle: s.pointStyle,
        // Rings larger and on top (lower order draws later), so a ring around a filled marker
        // of the same value still shows as a halo.
        pointRadius: s.hollow ? 12 : 9,
        pointHoverRadius: s.hollow ? 14 : 11,
        order: s.hollow ? 0 : 1,
        pointBorderWidth: 2.5,
        pointBorderColor: colours,
        // Hollow is see-through: a filled marker at the same value still shows inside the ring.
        pointBackgroundColor: s.hollow ? 'rgba(0, 0, 0, 0)' : colours,
        borderColor: colours,
        backgroundColor: s.hollow ? 'rgba(0, 0, 0, 0)' : colours,
      })),
    },
    options,
  };
}

/** The last of 1, 2, 5 × 10ⁿ at or below `value`. */
function roundBelow(value: number): number {
  const decade = 10 ** Math.floor(Math.log10(value));
  return [5, 2, 1].map((m) => m * decade).find((v) => v <= value) ?? decade;
}

/** The first of 1, 2, 5 × 10ⁿ at or above `value`. */
function roundAbove(value: number): number {
  const decade = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * decade).find((v) => v >= value) ?? 10 * decade;
}
