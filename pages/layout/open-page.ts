/**
 * The side-by-side page opened as the screenshots show it: every panel open and three
 * messages shown in each, the figures refreshed. The screenshot script and the test that
 * checks the screenshots against the page open it the same way, so their layouts compare.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { techniques } from '../../server/contract/techniques.js';

/** What the panels show in the screenshots. */
const MESSAGES = [
  { author: 'ada', text: 'Hello from the front row' },
  { author: 'grace', text: 'Which panel saw it first?' },
  { author: 'alan', text: 'Short polling waits for its next turn' },
];
const SHOWN_WITHIN_MS = 15_000;
/** The panels ask the server for their figures every second: wait for one refresh after the last message. */
const FIGURES_REFRESH_MS = 1300;

/** Opens `url`/ in a fresh context at `size`, publishes the messages and waits until every panel shows them. */
export async function openWithMessages(
  browser: Browser,
  url: string,
  size: { width: number; height: number },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
  const page = await context.newPage();
  await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
  for (const { id } of techniques)
    await page
      .locator(`[data-technique="${id}"] [data-role="state"]`)
      .filter({ hasText: /^OPEN$/ })
      .waitFor({ timeout: SHOWN_WITHIN_MS });
  const ids: number[] = [];
  for (const message of MESSAGES) {
    const response = await fetch(`${url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });
    if (!response.ok) throw new Error(`publish: ${response.status} ${await response.text()}`);
    ids.push(((await response.json()) as { id: number }).id);
  }
  const last = ids.at(-1);
  for (const { id } of techniques)
    await page
      .locator(`[data-technique="${id}"] [data-role="messages"] li[data-id="${last}"]`)
      .waitFor({ timeout: SHOWN_WITHIN_MS });
  await page.waitForTimeout(FIGURES_REFRESH_MS);
  return { context, page };
}
