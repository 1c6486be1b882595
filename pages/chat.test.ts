/**
 * The side-by-side page as a chat room in Chromium: two windows that are two people (two
 * browser contexts, as a private window is) talk and see each other online; a second tab
 * in the same context says it cannot connect instead of stalling.
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques, withCapabilities } from '../server/contract/techniques.js';
import { startServer, until } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

describe('the chat room in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  async function join(context: BrowserContext, url: string, nick: string): Promise<Page> {
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

  async function say(page: Page, text: string): Promise<void> {
    await page.locator('input[name="text"]').fill(text);
    await page.locator('#composer button[type="submit"]').click();
  }

  test('two windows chat: each sees the other online and the other’s message', async (t) => {
    const server = await startServer(t, { presenceGraceMs: 1000 });
    const adaWindow = await browser.newContext();
    const bobWindow = await browser.newContext();
    t.after(() => Promise.all([adaWindow.close(), bobWindow.close()]));
    const ada = await join(adaWindow, server.url, 'ada');
    const bob = await join(bobWindow, server.url, 'bob');
    for (const [page, other] of [
      [ada, 'bob'],
      [bob, 'ada'],
    ] as const) {
      await page.locator(`#online [data-role="online"][data-nick="${other}"]`).waitFor({ timeout: 10_000 });
    }
    await say(ada, 'hello bob');
    await say(bob, 'hello ada');
    await bob.locator('.messages li', { hasText: 'hello bob' }).first().waitFor({ timeout: 10_000 });
    await ada.locator('.messages li', { hasText: 'hello ada' }).first().waitFor({ timeout: 10_000 });
    await ada.locator('.messages li.system', { hasText: 'bob joined' }).first().waitFor({ timeout: 10_000 });
    // bob closes his window: ada sees him leave, and how long it took to notice.
    await bobWindow.close();
    const left = ada.locator('#online [data-role="left"][data-nick="bob"]').first();
    await left.waitFor({ timeout: 10_000 });
    assert.match((await left.textContent()) ?? '', /^bob left \(.+\): not seen for \d+\.\d s$/);
  });

  test('a join the server does not list (its address has no room) says why, and the page still reads the feed', async (t) => {
    const server = await startServer(t, { config: { presenceMaxChattersPerAddress: 0 } });
    const window = await browser.newContext();
    t.after(() => window.close());
    const page = await window.newPage();
    await page.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' });
    await page.locator('[data-role="nickname"]').fill('eve');
    await page.locator('#join').click();
    await page.locator('#greeting').filter({ hasText: 'has not listed you as eve' }).waitFor({ timeout: 15_000 });
    await page.locator('input[name="text"]').fill('still here');
    await page.locator('#composer button[type="submit"]').click();
    await page.locator('.messages li', { hasText: 'still here' }).first().waitFor({ timeout: 10_000 });
  });

  test('a second tab in the same browser says it cannot connect, and does not', async (t) => {
    const server = await startServer(t);
    const context = await browser.newContext();
    t.after(() => context.close());
    await join(context, server.url, 'ada');
    // Joining reconnects every client: each held request is replaced, not doubled, or
    // this tab alone would fill the browser's six connections.
    for (const { id } of withCapabilities({ holdsRequest: true })) {
      await until(
        () => server.wire.activeRequests(id) === 1,
        () => `${id}: ${server.wire.activeRequests(id)} held`,
      );
    }
    const first = context.pages()[0];
    assert.ok(first);
    const second = await context.newPage();
    await second.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' });
    const notice = second.locator('#tab-notice');
    await notice.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await notice.textContent()) ?? '', /already open in another tab.*six per host/);
    assert.ok(await second.locator('#join').isDisabled());
    // The second tab opened no client: none of its panels is open.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const states = await second.locator('[data-role="state"]').allTextContents();
    assert.equal(states.length, techniques.length);
    assert.ok(!states.includes('OPEN'), `states: ${states.join(', ')}`);
    assert.ok(await first.locator('#tab-notice').isHidden());
  });
});
