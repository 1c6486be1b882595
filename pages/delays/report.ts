/**
 * The runs behind docs/browser-delays.md: each scenario in the probe page, in one Chromium,
 * one after the other, printed as the doc's Markdown table (median ms after the feed
 * accepted the message, per stage and per technique).
 *
 * Run it: `node --import tsx pages/delays/report.ts [rate] [count]`.
 */
import { type ProbeVariant, measureDelays } from './harness.ts';

/** A named page setup: what the doc calls it, and what the probe runs. */
export interface Scenario {
  name: string;
  variant: ProbeVariant;
  /** False for a run without DevTools listening (no `renderer` stage). */
  devtools?: boolean;
}

const STREAMS = ['forever-iframe', 'sse', 'websocket'];
const ALL = ['short-polling', 'long-polling', ...STREAMS];

/** The doc's scenarios, from one client alone to the side-by-side page's five panels. */
export const SCENARIOS: Scenario[] = [
  ...STREAMS.map((technique) => ({ name: `${technique} alone`, variant: { techniques: [technique] } })),
  { name: 'sse alone, read with fetch()', variant: { techniques: ['sse'], reader: 'fetch' } },
  { name: 'the three streams in one page', variant: { techniques: STREAMS } },
  { name: 'the streams and long polling', variant: { techniques: ['long-polling', ...STREAMS] } },
  {
    name: 'the streams and long polling, sse read with fetch()',
    variant: { techniques: ['long-polling', ...STREAMS], reader: 'fetch' },
  },
  {
    name: 'the streams and long polling, with panels',
    variant: { techniques: ['long-polling', ...STREAMS], panel: true },
  },
  { name: 'all five', variant: { techniques: ALL } },
  { name: 'all five, with panels (the side-by-side page)', variant: { techniques: ALL, panel: true } },
  {
    name: 'all five, with panels, published from the page (the ticker)',
    variant: { techniques: ALL, panel: true, publisher: 'page' },
  },
  {
    name: 'all five, with panels, DevTools not listening',
    variant: { techniques: ALL, panel: true },
    devtools: false,
  },
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rate = '5', count = '40'] = process.argv.slice(2);
  const fixed = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
  console.log(`${rate} messages/s, ${count} messages per scenario; median ms after the feed accepted each\n`);
  console.log(
    '| page | technique | server wrote | network stack read | renderer took | page code ran | page code, by the offset estimate |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const scenario of SCENARIOS) {
    const run = await measureDelays(scenario.variant, {
      rate: Number(rate),
      count: Number(count),
      devtools: scenario.devtools ?? true,
    });
    for (const [technique, medians] of Object.entries(run.medians))
      console.log(
        `| ${scenario.name} | ${technique} | ${fixed(medians.written)} | ${fixed(medians.network)} | ${fixed(medians.renderer)} | ${fixed(medians.page)} | ${fixed(medians.pageViaOffset)} |`,
      );
  }
}
