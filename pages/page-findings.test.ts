/**
 * What a class trips on (issue 17), in Chromium against the real server on port 0: a
 * stream document opened on its own, the technique pages' held exchange, the panels'
 * stale or missing state, and a second tab's wait for a connection. One browser for all.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques } from '../server/contract/techniques.js';
import { publish, startServer } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';

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
});
