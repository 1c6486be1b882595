/**
 * The runs behind docs/browser-delays.md: each scenario in the probe page, in one Chromium,
 * one after the other, printed as the doc's Markdown table (median ms after the feed
 * accepted the message, per stage and per technique).
 *
 * Run it: `node --import tsx pages/delays/report.ts [rate] [count]`.
 */
import { techniqueIds, withCapabilities } from '../../server/contract/techniques.js';
import { type ProbeVariant, measureDelays } from './harness.ts';

/** A named page setup: what the doc calls it, and what the probe runs. */
export interface Scenario {
  name: string;
  variant: ProbeVariant;
  /** False for a run without DevTools listening (no `renderer` stage). */
  devtools?: boolean;
}

// Chosen by capability, as everything outside a technique's own files: the streams, the
// ones of them read with EventSource, and the technique that holds a request per answer.
const STREAMS = withCapabilities({ streams: true }).map((technique) => technique.id);
const EVENT_STREAMS = withCapabilities({ streams: true }).filter((technique) => technique.wire === 'event-stream');
const HELD_PER_ANSWER = withCapabilities({ holdsRequest: true, streams: false }).map((technique) => technique.id);
const ALL = [...techniqueIds];
const COMPANY = [...HELD_PER_ANSWER, ...STREAMS];

/** The doc's scenarios, from one client alone to the side-by-side page's panels. */
export const SCENARIOS: Scenario[] = [
  ...STREAMS.map((technique) => ({ name: `${technique} alone`, variant: { techniques: [technique] } })),
  ...EVENT_STREAMS.map(({ id }) => ({
    name: `${id} alone, read with fetch()`,
    variant: { techniques: [id], reader: 'fetch' as const },
  })),
  { name: 'each stream in a browser of its own, at once', variant: { techniques: STREAMS, separate: true } },
  { name: 'the streams in one page', variant: { techniques: STREAMS } },
  { name: 'the streams and long polling', variant: { techniques: COMPANY } },
  {
    name: 'the streams and long polling, event streams read with fetch()',
    variant: { techniques: COMPANY, reader: 'fetch' },
  },
  { name: 'the streams and long polling, with panels', variant: { techniques: COMPANY, panel: true } },
  { name: 'all of them', variant: { techniques: ALL } },
  { name: 'all of them, with panels (the side-by-side page)', variant: { techniques: ALL, panel: true } },
  {
    name: 'all of them, with panels, published from the page (the ticker)',
    variant: { techniques: ALL, panel: true, publisher: 'page' },
  },
  {
    name: 'all of them, with panels, DevTools not listening',
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
