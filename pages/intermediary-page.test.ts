/**
 * The side-by-side page behind an intermediary (`npm start -- --intermediary NAME`), in
 * Debian's Chromium: a panel whose technique the intermediary breaks says so, and why,
 * where before it stayed silent; the others stay quiet. Which panels break comes from the
 * registry's capabilities, as the start-up message says.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { withCapabilities } from '../server/contract/techniques.js';
import { publish, until } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const MAIN = fileURLToPath(new URL('../server/main.ts', import.meta.url));
const ids = (wanted: Parameters<typeof withCapabilities>[0]) => withCapabilities(wanted).map((entry) => entry.id);

describe('the side-by-side page behind an intermediary, in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  /**
   * Serves the page behind `intermediary`, opens it, waits `seconds` (publishing a message
   * a second, direct, past the intermediary, unless `quiet`), and returns each panel's
   * health line by technique id ('' when hidden).
   */
  async function healthBehind(
    t: import('node:test').TestContext,
    intermediary: string,
    seconds: number,
    quiet = false,
  ) {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--intermediary', intermediary], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    t.after(() => child.kill('SIGKILL'));
    await until(
      () => /serving http:\/\/[^/]+\//.test(output),
      () => `the server to start: ${output}`,
      15_000,
    );
    const served = (/serving (http:\/\/[^/]+)\//.exec(output)?.[1] ?? '').replace('localhost', '127.0.0.1');
    const direct = /unshaped, on (http:\/\/[^/]+)\//.exec(output)?.[1] as string;
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${served}/`);
    await page.waitForSelector('[data-technique] [data-role="state"]:text-matches("OPEN|CONNECTING")');
    for (let i = 0; i < seconds; i += 1) {
      if (!quiet) await publish(direct, { author: 'test', text: `tick ${i}` });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return page.$$eval('[data-technique]', (panels) =>
      Object.fromEntries(
        panels.map((panel) => {
          const health = panel.querySelector('[data-role="health"]') as {
            hidden: boolean;
            textContent: string | null;
          } | null;
          return [panel.getAttribute('data-technique'), health && !health.hidden ? (health.textContent ?? '') : ''];
        }),
      ),
    );
  }

  test('behind buffering, each panel streamed over a plain response says nothing has arrived', async (t) => {
    // Past STALL_AFTER_MS (5 s) after the first message, with a second to spare.
    const health = await healthBehind(t, 'buffering', 8);
    t.diagnostic(JSON.stringify(health));
    for (const id of ids({ streams: true, upgrades: false }))
      assert.match(health[id] ?? '', /^nothing arrived for \d+ s .* the server has written \d+\sB/, id);
    for (const id of ids({ streams: false })) assert.equal(health[id], '', id);
    for (const id of ids({ upgrades: true })) assert.equal(health[id], '', id);
  });

  test('behind strip-upgrade, each upgrading panel shows its failed attempts and why', async (t) => {
    const health = await healthBehind(t, 'strip-upgrade', 3);
    t.diagnostic(JSON.stringify(health));
    for (const id of ids({ upgrades: true }))
      assert.match(health[id] ?? '', /^\d+ attempts failed in a row; the last: closed: 1006/, id);
    for (const id of ids({ upgrades: false })) assert.equal(health[id], '', id);
  });

  test('behind idle-cut, each panel holding a quiet connection says it keeps being cut', async (t) => {
    // A 2 s limit, nothing published: a held connection is cut every 2 s or so.
    const health = await healthBehind(t, 'idle-cut=2', 12, true);
    t.diagnostic(JSON.stringify(health));
    // Not the held polls: Chromium resends a GET whose reused keep-alive connection closes
    // before any answer, so most cuts never reach the page (7 requests in 12 s, one
    // ERR_EMPTY_RESPONSE); only the server's request count shows them.
    for (const id of ids({ streams: true }))
      assert.match(health[id] ?? '', /^reconnected \d+ times in the last minute|^\d+ attempts failed in a row/, id);
    for (const id of ids({ pollsWhenIdle: true })) assert.equal(health[id], '', id);
  });
});
