/**
 * The round-trip sweep charts (`--rtt 0,50,200`): delivery delay and requests per message
 * against the round trip, one line per technique, so that a reader watches polling fall
 * behind as the trip grows while streams pay it once. Written only when a run has more
 * than one round trip.
 */
import type { ChartConfiguration } from 'chart.js';
import type { TechniqueResult } from '../result.ts';
import { baseOptions, colorOf, type NamedChart } from './charts.ts';

/** The sweep charts for `rows` (one client count, one feed), or none without several round trips. */
/** One marker shape per technique, in registry order. */
const POINT_STYLES = ['circle', 'rect', 'triangle', 'rectRot', 'star', 'crossRot'] as const;

export function roundTripSweepCharts(rows: TechniqueResult[], subtitle: string[]): NamedChart[] {
  const trips = new Set(rows.map((r) => r.network?.rttMs).filter((rtt) => rtt !== undefined));
  const delivered = rows.filter((r) => r.network && r.messagesDelivered > 0);
  if (trips.size < 2 || delivered.length === 0) return [];
  return [
    {
      name: 'rtt-sweep-delay',
      caption:
        'Mean (solid) and p99 (dashed) delivery delay against the round trip between subscribers and server: a stream pays one way, a long poll batches once messages come faster than one per trip, a short poll adds half its interval.',
      config: sweepChart(
        'Delivery delay against round trip',
        subtitle,
        delivered,
        [
          { label: 'mean', value: (r) => r.latencyMs?.mean ?? null },
          { label: 'p99', value: (r) => r.latencyMs?.p99 ?? null, dash: [6, 4] },
        ],
        'delay, ms',
      ),
    },
    {
      name: 'rtt-sweep-requests',
      caption:
        'HTTP requests per delivered message against the round trip (log scale): long polling falls from one per message once the trip is longer than the gap between messages.',
      config: sweepChart(
        'HTTP requests per delivered message against round trip',
        subtitle,
        delivered,
        [{ label: 'requests/msg', value: (r) => r.httpRequestsPerMessage }],
        'requests per delivered message (log scale)',
        true,
      ),
    },
  ];
}

interface Series {
  label: string;
  value: (r: TechniqueResult) => number | null;
  dash?: number[];
}

function sweepChart(
  title: string,
  subtitle: string[],
  rows: TechniqueResult[],
  series: Series[],
  yTitle: string,
  logY = false,
): ChartConfiguration {
  const techniques = [...new Set(rows.map((r) => r.technique))];
  const options = baseOptions(title, subtitle, yTitle, logY, 'added round trip, ms');
  if (options?.scales?.x) Object.assign(options.scales.x, { type: 'linear', beginAtZero: true });
  return {
    type: 'line',
    data: {
      datasets: techniques.flatMap((technique, i) =>
        series.map((s) => ({
          label: series.length > 1 ? `${technique} ${s.label}` : technique,
          data: rows
            .filter((r) => r.technique === technique)
            .map((r) => ({ x: r.network?.rttMs ?? 0, y: s.value(r) ?? Number.NaN }))
            .sort((a, b) => a.x - b.x),
          borderColor: colorOf(technique, i),
          backgroundColor: colorOf(technique, i),
          borderDash: s.dash ?? [],
          // Techniques whose lines coincide (the three streams do) would hide each other.
          // Chart.js draws the first dataset on top, so each is drawn a little wider, with a
          // larger marker of its own shape, than the one before: every colour shows, nested.
          borderWidth: 1.5 + 1.5 * i,
          pointRadius: 3 + 1.5 * i,
          pointStyle: POINT_STYLES[i % POINT_STYLES.length],
        })),
      ),
    },
    options,
  };
}
