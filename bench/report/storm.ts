/**
 * The reconnect storm (`--storm`) in the report: its table (summary.md and index.html),
 * what it teaches in words, and its two charts over the seconds since the kill: the
 * restarted server's new requests per second, and the clients caught up, each technique
 * with and without jitter.
 */
import type { ChartConfiguration } from 'chart.js';
import type { BenchResult } from '../result.ts';
import type { StormTrial } from '../storm/figures.ts';
import { type NamedChart, baseOptions, colorOf } from './charts.ts';
import { count, fixed, mb, ms } from './format.ts';

const HEADINGS = [
  'technique',
  'backoff',
  'clients',
  'server back after, ms',
  'window, ms',
  'peak new requests/s (at, ms)',
  'requests seen',
  'refused',
  'retries',
  'caught up',
  'caught up p50 / p90 / all, ms',
  'published before / during / after',
  'delivered / expected',
  'lost',
  'dup',
  'gaps',
  'server CPU',
  'client CPU, busiest worker',
];

const backoff = (t: StormTrial) => (t.jitter ? 'jitter' : 'no jitter');
const label = (t: StormTrial) => `${t.technique}, ${backoff(t)}`;

/** The table's headings and one row of cells per trial; null without a storm. */
export function stormTable(result: BenchResult): { headings: string[]; rows: string[][] } | null {
  const storm = result.storm;
  if (!storm) return null;
  return {
    headings: HEADINGS,
    rows: storm.trials.map((t) => {
      const m = t.messages;
      const c = t.caughtUp;
      const bad = (n: number) => (n === 0 ? '0' : `**${count(n)}**`);
      return [
        t.technique,
        backoff(t),
        count(t.clients),
        count(t.serverDownMs),
        t.windowMs >= storm.deadlineMs ? `**${count(t.windowMs)}** (deadline)` : count(t.windowMs),
        `${count(t.connections.peakPerSecond)} (${count(t.connections.peakAtMs)})`,
        count(t.connections.requestsSeen),
        count(t.refused),
        count(t.retries),
        c.clients === t.clients ? count(c.clients) : `**${count(c.clients)}** of ${count(t.clients)}`,
        `${ms(c.p50Ms)} / ${ms(c.p90Ms)} / ${ms(c.maxMs)}`,
        `${m.publishedBefore} / ${m.publishedDuring} / ${m.publishedAfter}`,
        `${count(m.delivered)} / ${count(m.expected)}`,
        bad(m.lost),
        bad(m.duplicates),
        bad(m.gapsReported),
        t.server ? `${count(t.server.cpuMs)} ms (${fixed(t.server.cpuPercent)}%), ${mb(t.server.maxRssBytes)} MB` : '–',
        t.clientCpu
          ? `${Math.round(Math.max(0, ...t.clientCpu.workers.map((w) => w.coreShare)) * 100)}% of a core (${t.clientCpu.workers.length} workers)`
          : '–',
      ];
    }),
  };
}

/** The summary's section: what was done, the table, and how to read it. */
export function renderStorm(result: BenchResult): string {
  const table = stormTable(result);
  const storm = result.storm;
  if (!table || !storm) return '';
  const lines = ['## Reconnect storm', ''];
  lines.push(
    `${count(storm.clients)} clients per technique${storm.workers > 0 ? `, spread over ${storm.workers} worker processes` : ', in the bench process'}, on a server whose feed is in Redis. The server's process is killed (SIGKILL: no client is told, every socket breaks at once) and a new one started on the same port; a second node on the same Redis publishes ${storm.rate} msg/s throughout, so messages are published before the kill, while the server is down and the clients come back, and after. The clients come back with the contract's backoff (server/contract/backoff.js), once with its jitter and once with every client waiting the base delay exactly. New requests per second are the restarted server's own count (/api/stats, read every ${storm.trials[0]?.connections.sampleEveryMs ?? 100} ms); a client has caught up when it holds the first message published after the kill (times on the server's clock, from the kill). Every message is owed to every client exactly once, checked per client and id.`,
    '',
  );
  lines.push(`| ${table.headings.join(' | ')} |`);
  lines.push(
    `| --- | --- | ${table.headings
      .slice(2)
      .map(() => '---:')
      .join(' | ')} |`,
  );
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');
  lines.push(
    `Refused: answers other than 200/101 the clients got. Retries: connection attempts beyond one per client (the first attempt after the cut is due; each retry is one that failed, most of them against the port while no server listened). Window: from the kill until every client caught up, or the run's deadline (${count(storm.deadlineMs)} ms) if some had not; the request counts and the CPU figures cover it, and a client that comes back after it still counts as caught up, at its time. Server CPU: the restarted server's, from its start to the end of the window, and its peak memory. Client CPU: the busiest client worker's share of one core from the kill until every client caught up (above 80%, the clients may be what is slow, and a warning says so).`,
    '',
  );
  return lines.join('\n');
}

/** The two charts of a storm; none without one. */
export function stormCharts(result: BenchResult, subtitle: string[]): NamedChart[] {
  const storm = result.storm;
  if (!storm || storm.trials.length === 0) return [];
  return [
    {
      name: 'storm-connections',
      caption:
        "New requests per second the restarted server saw (its own count), from the kill: without jitter the clients come back in waves at the backoff's steps, with jitter spread over each step's window.",
      config: lineChart(
        'Reconnect storm: new requests per second at the restarted server',
        subtitle,
        'new requests per second',
        storm.trials.map((t) => ({
          trial: t,
          points: t.connections.series.map((p) => ({ x: seconds(p.atMs), y: Math.round(p.perSecond) })),
        })),
      ),
    },
    {
      name: 'storm-caught-up',
      caption:
        'Clients holding the first message published after the kill, by the seconds since the kill: the steeper and the further left, the sooner everyone is back.',
      config: lineChart(
        'Reconnect storm: clients caught up',
        subtitle,
        'clients caught up',
        storm.trials.map((t) => ({
          trial: t,
          points: t.caughtUp.series.map((p) => ({ x: seconds(p.atMs), y: p.clients })),
        })),
      ),
    },
  ];
}

const seconds = (atMs: number) => Math.round(atMs) / 1000;

/** One line per trial over seconds since the kill: the technique's colour, dashed without jitter. */
function lineChart(
  title: string,
  subtitle: string[],
  yTitle: string,
  lines: { trial: StormTrial; points: { x: number; y: number }[] }[],
): ChartConfiguration {
  const options = baseOptions(title, subtitle, yTitle, false, 'seconds since the server was killed');
  const scales = options?.scales as Record<string, Record<string, unknown>>;
  return {
    type: 'line',
    data: {
      datasets: lines.map(({ trial, points }, i) => ({
        label: label(trial),
        data: points,
        borderColor: colorOf(trial.technique, i),
        backgroundColor: colorOf(trial.technique, i),
        borderDash: trial.jitter ? [] : [6, 4],
        borderWidth: 2,
        pointRadius: 0,
        stepped: 'before' as const,
      })),
    },
    options: {
      ...options,
      scales: { ...scales, x: { ...scales.x, type: 'linear', min: 0 } },
    },
  };
}
