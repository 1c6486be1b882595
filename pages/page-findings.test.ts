/**
 * What a class trips on (issue 17), in Chromium against the real server on port 0: a
 * stream document opened on its own, the technique pages' held exchange, the panels'
 * stale or missing state, and a second tab's wait for a connection. One browser for all.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques, withCapabilities } from '../server/contract/techniques.js';
import { WAITING_BADGE } from './waiting.js';
import { HELD_TRANSCRIPT_MESSAGE, HOLD_BEFORE_PUBLISH_MS } from '../server/transcript.ts';
import { publish, startServer } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium: never beside another, nor a bench run (test/heavy.ts).
await takeHeavySlot();

/** Techniques whose server holds a request without streaming: a long poll. */
const HELD_NOT_STREAMED = techniques.filter(({ capabilities }) => capabilities.holdsRequest && !capabilities.streams);
/** Techniques whose requests the server answers at once: a short poll. */
const ANSWERED_AT_ONCE = withCapabilities({ holdsRequest: false, upgrades: false });
/** A stream that holds one of the browser's connections for as long as it is read. */
const HELD_STREAM = withCapabilities({ holdsRequest: true, streams: true })[0];
/** Techniques whose document calls back a parent page. */
const SCRIPT_STREAMS = techniques.filter((technique) => technique.wire === 'script-stream');

describe('the page findings in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  /** A fresh page whose console errors, warnings and page errors are collected. */
  async function newPage(
    t: import('node:test').TestContext,
    width = 1440,
  ): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    return { page, problems };
  }

  for (const technique of SCRIPT_STREAMS) {
    test(`/api/${technique.id} opened in a tab of its own shows its calls as text, with no error`, async (t) => {
      const server = await startServer(t, { config: { heartbeatMs: 500 } });
      await publish(server.url, { author: 'ada', text: 'before the tab' });
      const { page, problems } = await newPage(t);
      // The document never ends: wait for its first bytes, not for the load event.
      await page.goto(`${server.url}/api/${technique.id}?since=0`, { waitUntil: 'commit' });
      await page.locator('pre').filter({ hasText: 'before the tab' }).waitFor({ timeout: 5000 });
      await publish(server.url, { author: 'ada', text: 'while it is open' });
      await page.locator('pre').filter({ hasText: 'while it is open' }).waitFor({ timeout: 5000 });
      assert.match((await page.locator('p').first().textContent()) ?? '', /meant for a hidden iframe/);
      assert.deepEqual(problems, []);
    });
  }

  for (const technique of HELD_NOT_STREAMED) {
    test(`/techniques/${technique.id}.html records a held request and shows the hold it measured`, async (t) => {
      const server = await startServer(t);
      await publish(server.url, { author: 'ada', text: 'already there' });
      const { page, problems } = await newPage(t);
      await page.goto(`${server.url}/techniques/${technique.id}.html`);
      const note = page.locator('#transcript-note').filter({ hasText: 'held the request for' });
      await note.waitFor({ timeout: HOLD_BEFORE_PUBLISH_MS + 5000 });
      const held = Number(/held the request for ([\d.]+)\s*s/.exec((await note.textContent()) ?? '')?.[1]);
      assert.ok(held >= (HOLD_BEFORE_PUBLISH_MS - 50) / 1000, `held ${held} s`);
      assert.ok(held < (HOLD_BEFORE_PUBLISH_MS + 3000) / 1000, `held ${held} s`);
      const request = (await page.locator('#transcript-request').textContent()) ?? '';
      assert.match(request, new RegExp(`^GET /api/${technique.id}\\?since=1&`), 'asked from the head');
      const response = (await page.locator('#transcript-response').textContent()) ?? '';
      assert.match(response, new RegExp(HELD_TRANSCRIPT_MESSAGE.text));
      assert.doesNotMatch(response, /already there/, 'nothing old answered it at once');
      assert.deepEqual(problems, []);
    });
  }

  /** Opens `/` on `page` and waits until every panel is open. */
  async function openIndex(page: Page, url: string) {
    await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
    for (const { id } of techniques)
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: /^OPEN$/ })
        .waitFor({ timeout: 10_000 });
  }

  /** The ids a panel shows, oldest first. */
  async function shownIds(page: Page, id: string): Promise<number[]> {
    const ids = await page
      .locator(`[data-technique="${id}"] [data-role="messages"] li[data-id]`)
      .evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-id'))));
    return ids.reverse();
  }

  async function allShow(page: Page, ids: number[], timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (const { id } of techniques) {
      for (;;) {
        const shown = await shownIds(page, id);
        if (ids.every((wanted) => shown.includes(wanted))) {
          assert.equal(new Set(shown).size, shown.length, `${id} shows a message twice: ${shown}`);
          break;
        }
        if (Date.now() > deadline) assert.fail(`${id} shows ${JSON.stringify(shown)}, wanted ${JSON.stringify(ids)}`);
        await page.waitForTimeout(100);
      }
    }
  }

  test('the panels show no stale or misleading state: a dash before any delay, units held to their figures, no reconnecting under OPEN, no jump', async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000 } });
    const { page, problems } = await newPage(t);
    await openIndex(page, server.url);
    const delays = page.locator('[data-technique] [data-figure="delay"]');
    assert.deepEqual(
      await delays.allTextContents(),
      techniques.map(() => '–'),
      'no delay before a message',
    );
    assert.match((await page.locator('footer').textContent()) ?? '', /1 kB = 1,000 B/);

    // The composer's status appears without moving the panels.
    const panelsTop = async () => (await page.locator('#panels').boundingBox())?.y;
    const before = await panelsTop();
    await page.fill('input[name="text"]', 'no jump');
    await page.click('button[type="submit"]');
    await page.locator('#composer-status').filter({ hasText: 'stored as' }).waitFor();
    assert.equal(await panelsTop(), before, `the panels stayed where they were: ${before} then ${await panelsTop()}`);
    // On a phone the status has a line of its own: reserved before it speaks too.
    await page.setViewportSize({ width: 390, height: 900 });
    await page.locator('#composer-status').evaluate((status) => {
      status.textContent = '';
    });
    const narrow = await panelsTop();
    await page.fill('input[name="text"]', 'no jump on a phone');
    await page.click('button[type="submit"]');
    await page.locator('#composer-status').filter({ hasText: 'stored as #2' }).waitFor();
    assert.equal(await panelsTop(), narrow, `at 390 px too: ${narrow} then ${await panelsTop()}`);
    await page.setViewportSize({ width: 1440, height: 900 });
    await allShow(page, [1, 2]);
    await page.waitForTimeout(1200); // the figures refresh every second
    for (const text of await delays.allTextContents())
      assert.match(text, /^\d+(\.\d)?\u00a0ms \/ \d+(\.\d)?\u00a0ms$/, 'a delay and its unit do not part');
    for (const text of await page.locator('[data-technique] [data-figure="down"]').allTextContents())
      assert.match(text, /^\d+(\.\d)?\u00a0(B|kB|MB)$/, 'bytes in B, kB or MB');

    // Dropped, each client reconnects; once OPEN again, no "reconnecting in" stays below.
    for (const { id } of techniques) await page.click(`[data-technique="${id}"] [data-action="drop"]`);
    for (const { id } of techniques) {
      const panel = page.locator(`[data-technique="${id}"]`);
      await panel
        .locator('[data-role="state"]')
        .filter({ hasText: /^OPEN$/ })
        .waitFor({ timeout: 10_000 });
      assert.doesNotMatch((await panel.locator('[data-role="log"]').textContent()) ?? '', /reconnecting in/, id);
    }
    assert.deepEqual(problems, []);
  });

  test('a second tab holding the connections: the short poll and the composer say they wait, and no message is missed', {
    skip: (ANSWERED_AT_ONCE.length === 0 || !HELD_STREAM) && 'no poll answered at once, or no stream to hold',
  }, async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000 } });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    await openIndex(page, server.url);
    const first = await publish(server.url, { author: 'ada', text: 'before the other tab' });
    await allShow(page, [first.id]);
    // Another tab of the same browser takes every connection the page's host has left.
    const other = await context.newPage();
    await other.goto(`${server.url}/api/health`);
    await other.evaluate((path) => {
      const holder = new AbortController();
      Object.assign(globalThis, { holder });
      for (let i = 0; i < 6; i += 1)
        fetch(`${path}?n=${i}`, { signal: holder.signal })
          .then((response) => response.body?.getReader().read())
          .catch(() => undefined);
    }, `/api/${HELD_STREAM?.id}`);
    await page.check('input[name="via"][value="post"]');
    await page.fill('input[name="text"]', 'while the other tab holds them');
    await page.click('button[type="submit"]');
    for (const { id } of ANSWERED_AT_ONCE)
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: WAITING_BADGE })
        .waitFor({ timeout: 10_000 });
    await page
      .locator('#composer-status')
      .filter({ hasText: /waiting for a free connection/ })
      .waitFor({ timeout: 8000 });
    const meanwhile = await publish(server.url, { author: 'ada', text: 'published meanwhile' });
    // The other tab closes: everything queued goes out, and every panel shows every message.
    await other.evaluate(() => (globalThis as unknown as { holder: AbortController }).holder.abort());
    await other.close();
    await page.locator('#composer-status').filter({ hasText: 'stored as' }).waitFor({ timeout: 10_000 });
    const last = await publish(server.url, { author: 'ada', text: 'after the other tab' });
    await allShow(page, [first.id, meanwhile.id, last.id, ...range(first.id, last.id)]);
    for (const { id } of ANSWERED_AT_ONCE)
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: /^OPEN$/ })
        .waitFor({ timeout: 5000 });
  });
});

/** The whole numbers from `from` to `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}
