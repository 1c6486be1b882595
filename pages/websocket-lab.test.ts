/**
 * The WebSocket lab page in Chromium against the real server: a student's clicks through
 * every readyState (CLOSING included), text and binary echoes under both binaryTypes, a
 * burst's bufferedAmount climbing and draining, and each failure with the events the
 * browser gives for it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { startServer } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const WAIT = { timeout: 5000 };

interface LogLine {
  source: string;
  event: string;
  text: string;
}

describe('the WebSocket lab page in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  async function openLab(t: import('node:test').TestContext): Promise<{ page: Page; problems: string[] }> {
    const server = await startServer(t);
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/WebSocket connection/.test(message.text())) problems.push(message.text());
    });
    await page.goto(`${server.url}/websocket-lab.html`);
    await page.waitForSelector('html[data-ready="true"]', { ...WAIT, state: 'attached' });
    return { page, problems };
  }

  const logLines = (page: Page): Promise<LogLine[]> =>
    page.locator('#log li').evaluateAll((items) =>
      items.map((item) => ({
        source: item.getAttribute('data-source') ?? '',
        event: item.getAttribute('data-event') ?? '',
        text: item.textContent ?? '',
      })),
    );

  /** Waits for a log line of `event` whose text matches `pattern`, and returns it. */
  async function waitForLine(page: Page, event: string, pattern: RegExp): Promise<LogLine> {
    const deadline = performance.now() + WAIT.timeout;
    for (;;) {
      const lines = await logLines(page);
      const line = lines.find((candidate) => candidate.event === event && pattern.test(candidate.text));
      if (line) return line;
      if (performance.now() > deadline) {
        assert.fail(`no ${event} matching ${pattern} in the log:\n${lines.map((each) => each.text).join('\n')}`);
      }
      await page.waitForTimeout(50);
    }
  }

  /** The socket events (open, error, close) logged so far, in order, as `event` or `close CODE`. */
  async function socketEvents(page: Page, source: RegExp = /^page$/): Promise<string[]> {
    return (await logLines(page))
      .filter((line) => source.test(line.source) && ['open', 'error', 'close'].includes(line.event))
      .map((line) => (line.event === 'close' ? `close ${/code (\d+)/.exec(line.text)?.[1]}` : line.event));
  }

  test('through every readyState, echoing text and binary under both binaryTypes, and a burst', async (t) => {
    const { page, problems } = await openLab(t);
    await page.fill('#linger-ms', '800');
    await page.click('#open');
    await waitForLine(page, 'open', /protocol ""/);

    await page.click('#send-text');
    await waitForLine(page, 'message', /string, 11 chars: "hello, echo"/);
    await page.click('#send-arraybuffer');
    await waitForLine(page, 'message', /Blob, 11 bytes/);
    await page.selectOption('#binary-type', 'arraybuffer');
    await page.click('#send-blob');
    await waitForLine(page, 'message', /ArrayBuffer, 11 bytes: "hello, echo"/);

    await page.click('#burst');
    const sent = await waitForLine(page, 'burst', /bufferedAmount \d+/);
    assert.ok(Number(/bufferedAmount (\d+)/.exec(sent.text)?.[1]) > 0, sent.text);
    await waitForLine(page, 'message', /echoes are all back/);
    assert.equal(await page.textContent('#buffered'), '0');
    assert.ok(Number(await page.textContent('#buffered-peak')) > 0);

    await page.fill('#close-code', '3001');
    await page.fill('#close-reason', 'bye');
    await page.click('#close');
    await page.locator('#ready-name[data-state="CLOSING"]').waitFor(WAIT);
    await waitForLine(page, 'close', /code 3001, reason "bye", wasClean true/);
    const states = (await logLines(page)).filter((line) => line.event === 'readyState').map((line) => line.text);
    assert.deepEqual(
      states.map((text) => /readyState {2}(.*)$/.exec(text)?.[1]),
      ['0 CONNECTING', '1 OPEN', '2 CLOSING', '3 CLOSED'],
    );
    assert.equal(await page.textContent('#ready-number'), '3');
    assert.deepEqual(problems, []);
  });

  test('each failure shows what the browser reports of it', async (t) => {
    const { page, problems } = await openLab(t);

    await page.click('#fail-server-close');
    await waitForLine(
      page,
      'close',
      /code 4000, reason "closed by the server as asked \(\?close=4000\)", wasClean true/,
    );
    // Accepted, then closed by the server's choice: its code and reason arrive, and no error.
    assert.deepEqual(await socketEvents(page), ['open', 'close 4000']);

    await page.click('#clear-log');
    await page.click('#fail-protocol');
    await waitForLine(page, 'close', /code 1006, reason "", wasClean false/);
    assert.deepEqual(await socketEvents(page), ['error', 'close 1006']);

    await page.click('#clear-log');
    await page.fill('#closed-port', String(await closedPort()));
    await page.click('#fail-port');
    await waitForLine(page, 'close', /code 1006/);
    assert.deepEqual(await socketEvents(page), ['error', 'close 1006']);

    await page.click('#clear-log');
    await page.click('#fail-origin');
    const close = await waitForLine(page, 'close', /code 1006/);
    assert.deepEqual(
      await socketEvents(page, /^foreign page http:\/\/localhost:\d+$/),
      ['error', 'close 1006'],
      close.text,
    );
    await waitForLine(page, 'new WebSocket', /from Origin http:\/\/localhost:\d+/);
    assert.deepEqual(problems, []);
  });
});

/** A loopback port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
