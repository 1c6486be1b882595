/**
 * What a class trips on (issue 17), in Chromium against the real server on port 0: a
 * stream document opened on its own, the technique pages' held exchange, the panels'
 * stale or missing state, and a second tab's wait for a connection. One browser for all.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques } from '../server/contract/techniques.js';
import { HELD_TRANSCRIPT_MESSAGE, HOLD_BEFORE_PUBLISH_MS } from '../server/transcript.ts';
import { publish, startServer } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';

/** Techniques whose server holds a request without streaming: a long poll. */
const HELD_NOT_STREAMED = techniques.filter(({ capabilities }) => capabilities.holdsRequest && !capabilities.streams);
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
});
