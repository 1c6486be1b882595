/**
 * Where a message's time goes between the server and a page's code, in Debian's Chromium
 * (docs/browser-delays.md): the delay probe (pages/delays/) stamps each message at every
 * stage, and these tests assert the bounds the doc states, from the doc's own constants
 * (pages/delays/bounds.ts). Skipped, loudly, where no Chromium is installed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { techniqueIds, withCapabilities } from '../server/contract/techniques.js';
import { describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import * as bounds from './delays/bounds.ts';
import { type DelayRun, measureDelays, median } from './delays/harness.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const ALL = [...techniqueIds];
const STREAMS = withCapabilities({ streams: true }).map((technique) => technique.id);
const POLLS_WHEN_IDLE = withCapabilities({ pollsWhenIdle: true }).map((technique) => technique.id);
const UPGRADED = withCapabilities({ upgrades: true }).map((technique) => technique.id);
const EVENT_STREAMS = withCapabilities({ streams: true }).filter((technique) => technique.wire === 'event-stream');
const RUN = { rate: 5, count: 25 };

/** Median ms from the feed's `ts` to `stage`, for one technique of a run. */
function delay(run: DelayRun, technique: string, stage: 'written' | 'network' | 'renderer' | 'page'): number {
  const value = run.medians[technique]?.[stage];
  assert.ok(value !== undefined && Number.isFinite(value), `${technique} has a ${stage} stamp`);
  return value;
}

describe('where a message spends its time in the browser', needs(CHROMIUM), () => {
  test('docs/browser-delays.md states each bound the tests assert, with its value', () => {
    const doc = readFileSync(new URL('../docs/browser-delays.md', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(bounds)) {
      const row = doc.split('\n').find((line) => line.includes(`\`${name}\``));
      assert.ok(row, `docs/browser-delays.md names ${name}`);
      assert.match(
        row,
        new RegExp(`\\|\\s*${String(value).replace('.', '\\.')}\\s*(ms|×)?\\s*\\|`),
        `${name} = ${value}: ${row}`,
      );
    }
  });

  test('alone in a browser, each stream delivers within a few milliseconds, and SSE on the order of WebSocket', async () => {
    // One Chromium per technique, all in one run: alone, and under the same load.
    const run = await measureDelays({ techniques: STREAMS, separate: true }, { ...RUN, devtools: false });
    const alone = Object.fromEntries(STREAMS.map((technique) => [technique, delay(run, technique, 'page')]));
    for (const [technique, ms] of Object.entries(alone))
      assert.ok(ms <= bounds.STREAM_ALONE_MAX_MS, `${technique} alone: median ${ms.toFixed(1)} ms`);
    const webSocket = Math.min(...UPGRADED.map((id) => alone[id] ?? Number.POSITIVE_INFINITY));
    for (const { id } of EVENT_STREAMS) {
      const ms = alone[id] ?? Number.NaN;
      assert.ok(
        ms <= bounds.SSE_ALONE_MAX_RATIO * webSocket + bounds.STREAM_ALONE_SLACK_MS,
        `${id} alone ${ms.toFixed(1)} ms against WebSocket's ${webSocket.toFixed(1)} ms: ${JSON.stringify(alone)}`,
      );
    }
  });

  test("in the side-by-side page's mix, the server writes at once, EventSource dispatches at once, and the page's clock is right within half its round trip", async () => {
    const run = await measureDelays({ techniques: ALL, panel: true }, RUN);
    for (const technique of ALL.filter((id) => !POLLS_WHEN_IDLE.includes(id))) {
      const ms = delay(run, technique, 'written');
      assert.ok(
        ms <= bounds.SERVER_WRITE_MAX_MS,
        `${technique}: the server wrote a median ${ms.toFixed(2)} ms after ts`,
      );
    }
    for (const { id } of EVENT_STREAMS) {
      const mine = run.messages.filter((message) => message.technique === id);
      const dispatch = median(mine.map((message) => message.page - message.renderer));
      assert.ok(
        dispatch <= bounds.EVENTSOURCE_DISPATCH_MAX_MS,
        `${id}: the page's code ran a median ${dispatch.toFixed(2)} ms after the renderer took the bytes`,
      );
    }
    const clockError = median(run.messages.map((message) => Math.abs(message.pageViaOffset - message.page)));
    const said = `the clock estimate is off by ${clockError.toFixed(2)} ms; its best round trip was ${run.clock.rtt.toFixed(2)} ms`;
    assert.ok(clockError <= run.clock.rtt / 2 + bounds.CLOCK_ROUNDING_MS, said);
    assert.ok(clockError <= bounds.CLOCK_ERROR_MAX_MS, said);
  });
});
