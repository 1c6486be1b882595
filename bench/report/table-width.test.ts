/**
 * The report's table at a laptop's 1440 px: every column (delay, CPU, memory and the
 * model's verdict at its right end) in view without scrolling sideways, or, where a run
 * has more columns than fit, the first column held and a visible hint that the rest
 * scroll. Checked in Chromium on the committed reference runs' pages, re-rendered.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../browser/chromium.ts';
import type { BenchResult } from '../result.ts';
import { writeReport } from './write.ts';
import { CHROMIUM, needs } from '../../test/tools.ts';
import { after, before, describe, test } from '../../test/suite.ts';
import { takeHeavySlot } from '../../test/heavy.ts';

// A Chromium: never beside another, nor a bench run (test/heavy.ts).
await takeHeavySlot();

const RESULTS = fileURLToPath(new URL('../../results/', import.meta.url));
/** The runs with the most columns: a shaped network adds one, WebSocket variants another. */
const RUNS = ['reference-rtt', 'reference-ws-variants'];

describe('the report table at 1440 px', needs(CHROMIUM), () => {
  let browser: Browser;
  let out: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'realtime-lab-table-'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await rm(out, { recursive: true, force: true });
  });

  /** What the table's box and the hint look like in a window `width` px wide. */
  async function tableAt(run: string, width: number) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    try {
      await page.goto(pathToFileURL(join(out, run, 'index.html')).href);
      // Read in the page, as one expression (the test's own TypeScript has no DOM types).
      return (await page.evaluate(`(() => {
        const box = document.querySelector('.table');
        const hint = document.querySelector('.scroll-hint');
        const first = box.querySelector('tbody td');
        const last = box.querySelector('thead th:last-child');
        return {
          overflow: box.scrollWidth - box.clientWidth,
          lastPastEdge: last.getBoundingClientRect().right - box.getBoundingClientRect().right,
          hintShown: Boolean(hint && hint.offsetParent !== null),
          firstHeld: first ? getComputedStyle(first).position === 'sticky' : false,
          pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        };
      })()`)) as {
        overflow: number;
        lastPastEdge: number;
        hintShown: boolean;
        firstHeld: boolean;
        pageScrolls: boolean;
      };
    } finally {
      await page.close();
    }
  }

  for (const run of RUNS) {
    test(`${run}: every column in view at 1440 px; narrower, the first held and a hint shown`, async () => {
      const result = JSON.parse(await readFile(join(RESULTS, run, 'results.json'), 'utf8')) as BenchResult;
      await writeReport(result, join(out, run));
      const wide = await tableAt(run, 1440);
      assert.equal(wide.pageScrolls, false, 'the page scrolls sideways at 1440 px');
      assert.ok(wide.overflow <= 0, `at 1440 px the table is ${wide.overflow} px wider than its box`);
      assert.ok(wide.lastPastEdge <= 1, `at 1440 px the last column ends ${wide.lastPastEdge} px past the edge`);
      assert.equal(wide.hintShown, false, 'a scroll hint over a table that does not scroll');
      const narrow = await tableAt(run, 800);
      assert.equal(narrow.pageScrolls, false, 'the page itself scrolls sideways at 800 px, not only its table');
      assert.ok(narrow.overflow > 0, 'at 800 px the table should need to scroll (else this checks nothing)');
      assert.ok(narrow.hintShown, 'at 800 px the table scrolls with no hint');
      assert.ok(narrow.firstHeld, 'at 800 px the first column scrolls away');
    });
  }
});
