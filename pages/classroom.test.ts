/**
 * The classroom view in Chromium: three students (three browser contexts, as three
 * laptops are) open the side-by-side page and join under their nicknames; the teacher's
 * page lists each under every technique, with requests and bytes moving and a delay once
 * a message is published; a student who closes the page leaves the list. With
 * CLASSROOM_SCREENSHOT=1 it also writes docs/img/classroom.png (1440 px wide).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques, withCapabilities } from '../server/contract/techniques.js';
import { publish, startServer } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium: never beside another, nor a bench run (test/heavy.ts).
await takeHeavySlot();

const LEAVE_AFTER_MS = 1000;
const SCREENSHOT = fileURLToPath(new URL('../docs/img/classroom.png', import.meta.url));

describe('the classroom view in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  async function student(context: BrowserContext, url: string, nick: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
    await page.locator('[data-role="nickname"]').fill(nick);
    await page.locator('#join').click();
    await page
      .locator('#greeting')
      .filter({ hasText: `Welcome, ${nick}!` })
      .waitFor({ timeout: 10_000 });
    return page;
  }

  /** The row of `nick`'s page (not its auto panel's clients) in the card of `technique`. */
  const row = (teacher: Page, technique: string, nick: string) =>
    teacher.locator(`[data-technique="${technique}"] tbody tr`, {
      has: teacher.locator('[data-figure="who"]', { hasText: new RegExp(`^${nick} ·\\w{4}$`) }),
    });

  test('lists three students by technique, figures moving, delays after a message, and lets one go', async (t) => {
    const server = await startServer(t, { presenceGraceMs: LEAVE_AFTER_MS, classroomLeaveAfterMs: LEAVE_AFTER_MS });
    const laptops = await Promise.all([0, 1, 2].map(() => browser.newContext()));
    t.after(() => Promise.all(laptops.map((laptop) => laptop.close().catch(() => undefined))));
    const nicks = ['ada', 'bob', 'cy'];
    await Promise.all(laptops.map((laptop, i) => student(laptop, server.url, nicks[i] ?? '')));
    const teacherWindow = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    t.after(() => teacherWindow.close());
    const teacher = await teacherWindow.newPage();
    await teacher.goto(`${server.url}/classroom.html`, { waitUntil: 'domcontentloaded' });

    for (const technique of techniques)
      for (const nick of nicks) await row(teacher, technique.id, nick).waitFor({ timeout: 10_000 });
    assert.doesNotMatch((await teacher.locator('main').textContent()) ?? '', /127\.0\.0\.1/, 'no address listed');

    // A technique that polls when idle keeps adding requests with nothing published.
    const [poller] = withCapabilities({ pollsWhenIdle: true });
    assert.ok(poller);
    const requests = row(teacher, poller.id, 'ada').locator('[data-figure="requests"]');
    const before = Number(await requests.textContent());
    const deadline = Date.now() + 5000;
    while (Number(await requests.textContent()) <= before) {
      assert.ok(Date.now() < deadline, `${poller.id}: requests stuck at ${before}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (const technique of techniques)
      assert.match(
        (await row(teacher, technique.id, 'bob').locator('[data-figure="bytes"]').textContent()) ?? '',
        /[1-9]/,
      );

    await publish(server.url, { author: 'teacher', text: 'look at the delays' });
    for (const technique of techniques)
      for (const nick of nicks)
        await row(teacher, technique.id, nick)
          .locator('[data-figure="delay"]', { hasText: /^\d+\s?ms$/ })
          .waitFor({ timeout: 10_000 });
    // The pollers alone keep the room's rate above zero.
    await teacher
      .locator('[data-role="room"]', {
        hasText: /^The room: 3 students · (0\.[1-9]|[1-9])[\d.]* requests\/s · [\d.]+ (B|KiB|MiB)\/s/,
      })
      .waitFor({ timeout: 5000 });
    if (process.env.CLASSROOM_SCREENSHOT) await teacher.screenshot({ path: SCREENSHOT, fullPage: true });

    // A teacher on a phone: the cards stack, nothing runs off the side of the page.
    await teacher.setViewportSize({ width: 360, height: 800 });
    const wide = await teacher.evaluate(
      "[document.documentElement, ...document.querySelectorAll('.room-technique, .room-nodes')].filter((e) => e.scrollWidth > e.clientWidth).map((e) => (e.className || e.tagName) + ': ' + e.scrollWidth + ' > ' + e.clientWidth)",
    );
    assert.deepEqual(wide, [], 'nothing wider than the screen, nor scrolling sideways, at 360 px');

    const closedAt = Date.now();
    await laptops[2]?.close();
    for (const technique of techniques)
      await row(teacher, technique.id, 'cy').waitFor({ state: 'detached', timeout: LEAVE_AFTER_MS + 5000 });
    const tookMs = Date.now() - closedAt;
    assert.ok(tookMs < LEAVE_AFTER_MS + 5000, `cy left after ${tookMs} ms`);
    for (const technique of techniques) assert.equal(await row(teacher, technique.id, 'ada').count(), 1);
  });
});
