/**
 * The side-by-side page at a phone's width and a laptop's, in Debian's Chromium: on a
 * phone the panels still stand side by side, their figures first, the legend near the
 * top, nothing wider than the screen; on a laptop the layout is the desktop's. And the
 * screenshots in docs/img show the page as it is now (pages/screenshots.ts retakes them).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques } from '../server/contract/techniques.js';
import { takeHeavySlot } from '../test/heavy.ts';
import { buildApp } from '../server/app.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { type Box, type Layout, SCREENSHOT_SIZES, measureLayout, pngSize } from './layout/measure.ts';
import { openWithMessages } from './layout/open-page.ts';
import { LAYOUT_FILE, SCREENSHOT_DIR, type ScreenshotRecord } from './screenshots.ts';

// A Chromium: never beside another (test/heavy.ts).
await takeHeavySlot();

/** Phones: the narrowest common width, and the issue's. */
const PHONES = [
  { width: 360, height: 740 },
  { width: 390, height: 844 },
];
/** How far a box may move between the screenshots and the page before they no longer match, px: text that wraps differently, not a layout. */
const TOLERANCE_PX = 16;

const bottom = (box: Box) => box.y + box.height;
const right = (box: Box) => box.x + box.width;

describe('the side-by-side page on a phone and on a laptop, in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());
  after(() => lab?.app.close());

  // One page per size, measured once, for every test that asks about that size.
  let url = '';
  const measured = new Map<number, Promise<{ layout: Layout; height: number }>>();
  let lab: Awaited<ReturnType<typeof buildApp>> | undefined;
  before(async () => {
    lab = await buildApp({ config: { logLevel: 'silent', heartbeatMs: 1000 } });
    await lab.app.listen({ port: 0, host: '127.0.0.1' });
    const address = lab.app.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the app has no address');
    url = `http://127.0.0.1:${address.port}`;
  });

  function layoutAt(size: { width: number; height: number }) {
    let layout = measured.get(size.width);
    if (!layout) {
      layout = (async () => {
        const { context, page } = await openWithMessages(browser, url, size);
        try {
          const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
          return { layout: await measureLayout(page), height };
        } finally {
          await context.close();
        }
      })();
      measured.set(size.width, layout);
    }
    return layout;
  }

  for (const size of PHONES) {
    test(`at ${size.width} px: no sideways scroll, the legend in the first screen, every technique's figures in the first two, two panels a row`, async () => {
      const { layout } = await layoutAt(size);
      assert.ok(layout.scrollWidth <= size.width, `the page is ${layout.scrollWidth} px wide`);
      assert.deepEqual(layout.overflowing, [], 'elements past the right edge');
      assert.ok(bottom(layout.legend) <= size.height, `the legend ends at ${bottom(layout.legend)} px`);
      assert.ok(
        layout.field.x >= 0 && right(layout.field) <= size.width,
        `the message field spans ${layout.field.x}..${right(layout.field)} px`,
      );
      // Side by side: the technique panels fill rows of two, not a column of one.
      const tops = new Set(techniques.map(({ id }) => layout.panels[id]?.y));
      assert.equal(tops.size, Math.ceil(techniques.length / 2), `panel tops ${[...tops].join(', ')}`);
      for (const { id } of techniques) {
        const figures = layout.figures[id] as Box;
        assert.ok(bottom(figures) <= 2 * size.height, `${id}'s figures end at ${bottom(figures)} px`);
        assert.ok(
          figures.x >= 0 && right(figures) <= size.width,
          `${id}'s figures span ${figures.x}..${right(figures)}`,
        );
      }
    });
  }

  test('at 1440 px the desktop layout: the panels side by side in one row, the legend at the foot', async () => {
    const { layout } = await layoutAt({ width: 1440, height: 900 });
    const firstTop = layout.panels[techniques[0]?.id ?? '']?.y;
    const inFirstRow = techniques.filter(({ id }) => layout.panels[id]?.y === firstTop);
    assert.ok(inFirstRow.length >= 5, `${inFirstRow.length} panels share the first row`);
    const lowest = Math.max(...Object.values(layout.panels).map(bottom));
    assert.ok(layout.legend.y >= lowest, `the legend (at ${layout.legend.y} px) is below the panels (${lowest} px)`);
    assert.deepEqual(layout.overflowing, []);
  });

  test('the screenshots in docs/img show the page as it is now (else: node --import tsx pages/screenshots.ts)', async () => {
    const records = JSON.parse(await readFile(LAYOUT_FILE, 'utf8')) as Record<string, ScreenshotRecord>;
    for (const size of SCREENSHOT_SIZES) {
      const record = records[size.name];
      assert.ok(record, `${LAYOUT_FILE} has no ${size.name}`);
      const png = pngSize(await readFile(`${SCREENSHOT_DIR}${size.name}.png`));
      assert.deepEqual(png, record.png, `${size.name}.png is the one its layout was recorded with`);
      assert.equal(png.width, size.width);
      const { layout, height } = await layoutAt(size);
      assert.ok(
        Math.abs(height - png.height) <= 2 * TOLERANCE_PX,
        `${size.name}: the page is ${height} px tall, its screenshot ${png.height}`,
      );
      const moved = boxesMoved(record.layout, layout);
      assert.deepEqual(moved, [], `${size.name}: moved since the screenshot (retake them)`);
    }
  });
});

/** The boxes further than the tolerance from where the screenshot had them, named. */
function boxesMoved(then: Layout, now: Layout): string[] {
  const named = (layout: Layout): [string, Box][] => [
    ...Object.entries(layout.panels).map(([id, box]): [string, Box] => [`panel ${id}`, box]),
    ...Object.entries(layout.figures).map(([id, box]): [string, Box] => [`figures ${id}`, box]),
    ['legend', layout.legend],
    ['message field', layout.field],
  ];
  const before = new Map(named(then));
  const moved: string[] = [];
  for (const [name, box] of named(now)) {
    const was = before.get(name);
    if (!was) {
      moved.push(`${name}: not in the screenshot`);
      continue;
    }
    const far = (['x', 'y', 'width', 'height'] as const).filter((key) => Math.abs(box[key] - was[key]) > TOLERANCE_PX);
    if (far.length > 0) moved.push(`${name}: ${JSON.stringify(was)} then ${JSON.stringify(box)}`);
  }
  return moved;
}
