/**
 * The auto panel in Chromium: the page's block switches break techniques for it alone,
 * and it falls back, or upgrades, with every message published before, during and after
 * the switch shown exactly once. Which techniques it should land on comes from the
 * registry's capabilities, as the panel's own order does.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { withCapabilities } from '../server/contract/techniques.js';
import { after, before, describe, test } from '../test/suite.ts';
import { type TestServer, publish, startServer } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { transports } from '../server/transports/index.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const [upgrading] = withCapabilities({ upgrades: true });
// As the panel's order (server/contract/strategies.js) reads the registry: the streams that are
// not the upgrade, but for the script stream, whose one client per page is its own panel's.
const STREAMS = withCapabilities({ streams: true, upgrades: false }).filter((t) => t.wire !== 'script-stream');
const [LONG_POLL] = withCapabilities({ holdsRequest: true, streams: false });
const [FIRST_STREAM] = STREAMS;
if (!upgrading || !LONG_POLL || !FIRST_STREAM)
  throw new Error('the registry lacks what the auto panel falls back through');
const AUTO = 'section[data-role="auto"]';

describe('the auto panel in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  async function openPage(t: import('node:test').TestContext, server: TestServer, query = '') {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${server.url}/${query}`, { waitUntil: 'domcontentloaded' });
    await page.locator(`${AUTO} [data-attempt]`).first().waitFor();
    return page;
  }

  /** Sets the panel's switches, restarts it with them, and waits until it has started from the feed's head. */
  async function restartWith(page: Page, blocks: Record<string, string>) {
    for (const [id, mode] of Object.entries(blocks)) await page.selectOption(`${AUTO} [data-block="${id}"]`, mode);
    const before = await page.locator(AUTO).getAttribute('data-client');
    await page.click(`${AUTO} [data-action="restart"]`);
    await page.locator(`${AUTO}:not([data-client="${before}"]) [data-attempt]`).first().waitFor();
  }

  async function landsOn(page: Page, id: string, timeout: number) {
    try {
      await page.locator(`${AUTO}[data-in-use="${id}"]`).waitFor({ state: 'attached', timeout });
    } catch (error) {
      throw new Error(`not on ${id}: ${await panelText(page)}`, { cause: error });
    }
  }

  /** What the panel says, for a failure's message. */
  const panelText = async (page: Page) =>
    [
      ...(await page.locator(`${AUTO} [data-role="attempts"] tr`).allTextContents()),
      `shown: ${(await page.locator(`${AUTO} [data-role="messages"] li`).allTextContents()).join(' | ')}`,
    ].join('\n');

  /** The ids the panel shows, and checks each of `published` is there once, and nothing else. */
  async function shownOnce(page: Page, published: number[]) {
    const selector = `${AUTO} [data-role="messages"] li[data-id]`;
    await page
      .locator(selector)
      .nth(published.length - 1)
      .waitFor({ timeout: 5000 });
    const shown = (
      await page.locator(selector).evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-id'))))
    ).sort((a, b) => a - b);
    assert.deepEqual(
      shown,
      [...published].sort((a, b) => a - b),
    );
    assert.equal(await page.locator(`${AUTO} [data-figure="lost"]`).textContent(), '0');
  }

  /** The bytes the panel shows as spent on failed attempts, once the server's figures are in. */
  async function failedBytes(page: Page): Promise<number> {
    const figure = page.locator(`${AUTO} [data-figure="failed-bytes"]`);
    for (let tries = 0; tries < 30; tries += 1) {
      const bytes = Number(await figure.getAttribute('data-bytes'));
      if (bytes > 0) return bytes;
      await page.waitForTimeout(100);
    }
    return Number(await figure.getAttribute('data-bytes'));
  }

  const say = async (server: TestServer, text: string) => (await publish(server.url, { author: 'test', text })).id;

  test('with WebSocket refused it falls back to a stream, and loses and repeats nothing', async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000 } });
    const page = await openPage(t, server);
    await landsOn(page, upgrading.id, 5000);
    await restartWith(page, { [upgrading.id]: 'refuse' });
    const published = [await say(server, 'before')];
    await page.waitForSelector(`${AUTO} [data-attempt="${upgrading.id}"][data-outcome="failed"]`, { timeout: 8000 });
    published.push(await say(server, 'during'));
    await landsOn(page, FIRST_STREAM.id, 8000);
    published.push(await say(server, 'after'));
    await shownOnce(page, published);
    assert.ok((await failedBytes(page)) > 0);
  });

  test('with WebSocket refused and every stream buffered on a busy feed it lands on long polling, the held tail with it', async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000 } });
    const page = await openPage(t, server);
    await restartWith(page, Object.fromEntries([[upgrading.id, 'refuse'], ...STREAMS.map((s) => [s.id, 'buffer'])]));
    // Some 25 messages a second of some 400 bytes: the 4 KiB buffer lets its first lump
    // through well before the first-arrival deadline, so only following the feed's head
    // tells. Fewer than the panel's list keeps (30), so every one can be checked there.
    const published: number[] = [];
    const padding = 'x'.repeat(300);
    while (published.length < 28) {
      published.push(await say(server, `busy ${published.length} ${padding}`));
      await page.waitForTimeout(40);
    }
    await landsOn(page, LONG_POLL.id, 20000);
    await shownOnce(page, published);
    const outcomes = await page
      .locator(`${AUTO} [data-attempt]`)
      .evaluateAll((rows) =>
        rows.map((row) => `${row.getAttribute('data-attempt')} ${row.getAttribute('data-outcome')}`),
      );
    for (const stream of STREAMS) assert.ok(outcomes.includes(`${stream.id} failed`), outcomes.join(', '));
    assert.ok((await failedBytes(page)) > 0);
    const reasons = await page.locator(`${AUTO} [data-attempt="${FIRST_STREAM.id}"]`).allTextContents();
    assert.ok(
      reasons.some((text) => text.includes('brought only up to')),
      `the first stream was not caught lagging the head: ${reasons.join(' | ')}`,
    );
  });

  test('the upgrade strategy starts on long polling and ends on WebSocket, nothing lost or doubled', async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000 } });
    const page = await openPage(t, server, '?auto=upgrade');
    const before = await say(server, 'before');
    // The probe follows the long poll's first answer: published now, this is in flight during it.
    await page.locator(`${AUTO} li[data-id="${before}"]`).waitFor({ timeout: 5000 });
    const published = [before, await say(server, 'during')];
    await landsOn(page, upgrading.id, 8000);
    const after = await say(server, 'after');
    published.push(after);
    await shownOnce(page, published);
    assert.equal(await page.locator(`${AUTO} li[data-id="${before}"]`).getAttribute('data-via'), LONG_POLL.id);
    assert.equal(await page.locator(`${AUTO} li[data-id="${after}"]`).getAttribute('data-via'), upgrading.id);
    const rows = await page
      .locator(`${AUTO} [data-attempt]`)
      .evaluateAll((all) => all.map((row) => [row.getAttribute('data-attempt'), row.getAttribute('data-outcome')]));
    assert.deepEqual(rows, [
      [LONG_POLL.id, 'upgraded away'],
      [upgrading.id, 'in use'],
    ]);
  });

  test('during a slow probe, what the long poll and the WebSocket both bring is shown once', async (t) => {
    // A network that takes its time over the handshake: the long poll keeps bringing
    // messages meanwhile, and the WebSocket then replays them from the cursor it started at.
    const handshakeDelayMs = 800;
    const slowUpgrades = transports.map((transport) =>
      transport.capabilities.upgrades
        ? {
            ...transport,
            register: async (
              scope: import('fastify').FastifyInstance,
              context: Parameters<typeof transport.register>[1],
            ) => {
              scope.addHook('onRequest', () => new Promise((resolve) => setTimeout(resolve, handshakeDelayMs)));
              await transport.register(scope, context);
            },
          }
        : transport,
    );
    const server = await startServer(t, { config: { heartbeatMs: 1000 }, transports: slowUpgrades });
    const page = await openPage(t, server, '?auto=upgrade');
    const before = await say(server, 'before');
    await page.locator(`${AUTO} li[data-id="${before}"]`).waitFor({ timeout: 5000 });
    const during = [await say(server, 'during 1'), await say(server, 'during 2')];
    await landsOn(page, upgrading.id, 8000);
    const after = await say(server, 'after');
    await shownOnce(page, [before, ...during, after]);
    for (const id of during)
      assert.equal(await page.locator(`${AUTO} li[data-id="${id}"]`).getAttribute('data-via'), LONG_POLL.id);
    const duplicates = page.locator(`${AUTO} [data-figure="duplicates"]`);
    for (let tries = 0; tries < 30 && (await duplicates.textContent()) === '0'; tries += 1)
      await page.waitForTimeout(100);
    assert.equal(
      Number(await duplicates.textContent()),
      during.length,
      'the replay of what the long poll brought, dropped',
    );
  });

  test('the upgrade strategy with WebSocket refused stays on long polling, and shows what the probe cost', async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000 } });
    const page = await openPage(t, server, '?auto=upgrade');
    await restartWith(page, { [upgrading.id]: 'refuse' });
    const published = [await say(server, 'before')];
    await page
      .locator(`${AUTO} [data-attempt="${upgrading.id}"][data-outcome="failed"]`)
      .waitFor({ state: 'attached', timeout: 8000 });
    published.push(await say(server, 'after'));
    await shownOnce(page, published);
    assert.equal(await page.locator(AUTO).getAttribute('data-in-use'), LONG_POLL.id);
    assert.ok((await failedBytes(page)) > 0);
  });
});
