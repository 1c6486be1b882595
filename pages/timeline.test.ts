/**
 * Each technique's shape, seen in Chromium against the real server on port 0: the panels'
 * wire timelines (read back from the canvas's pixels, by the marks' exact colours) and the
 * technique pages' sequence diagrams (against the transcript each page fetched). Which
 * techniques, and what each should draw, come from the registry's capabilities.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniques, withCapabilities } from '../server/contract/techniques.js';
import { HOLD_BEFORE_PUBLISH_MS } from '../server/transcript.ts';
import { takeHeavySlot } from '../test/heavy.ts';
import { publish, startServer } from '../test/support.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { TIMELINE_COLORS } from './timeline-colors.js';

// A Chromium: never beside another (test/heavy.ts).
await takeHeavySlot();

const POLLERS = withCapabilities({ pollsWhenIdle: true });
const STREAMS = withCapabilities({ streams: true });
const TWO_WAY = withCapabilities({ twoWay: true });
const ONE_WAY_STREAMS = withCapabilities({ streams: true, twoWay: false });
/** A byte limit small enough that a few messages end a response that has one (the iframe's). */
const SMALL_LIMIT = 1024;

/** The columns of `id`'s timeline that show `colour`, grouped into runs: one run per mark. */
async function marksOf(page: Page, id: string, colour: string): Promise<number[]> {
  return page.locator(`[data-technique="${id}"] canvas.timeline`).evaluate((canvas, hex) => {
    const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
    // The browser's canvas, typed here by what is used of it (this file has no DOM types).
    const c = canvas as unknown as {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    };
    const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const columns = new Set<number>();
    for (let i = 0; i < pixels.length; i += 4)
      if (pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b && pixels[i + 3] === 255)
        columns.add((i / 4) % c.width);
    const runs: number[] = [];
    for (const x of [...columns].sort((p, q) => p - q)) if (!columns.has(x - 1)) runs.push(x);
    return runs;
  }, colour);
}

/** The texts of a panel's timeline key, by mark. */
async function keyOf(page: Page, id: string): Promise<Record<string, string>> {
  return page
    .locator(`[data-technique="${id}"] [data-role="timeline-key"] [data-mark]`)
    .evaluateAll((items) =>
      Object.fromEntries(items.map((item) => [item.getAttribute('data-mark'), item.textContent ?? ''])),
    );
}

async function eventually(check: () => Promise<boolean>, what: () => Promise<string>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(await what());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('each technique shape, in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  test('the side-by-side timelines: a batch of N is N ticks, sends on a second lane, a response ended at its limit capped', async (t) => {
    const server = await startServer(t, { config: { heartbeatMs: 1000, iframeMaxBytes: SMALL_LIMIT } });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' });
    for (const { id } of techniques)
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: /^OPEN$/ })
        .waitFor({ timeout: 10_000 });
    // Polls far apart, so that what is published between two is answered as one batch.
    await page.locator('#poll-interval').evaluate((input) => {
      (input as unknown as { value: string }).value = '2500';
      input.dispatchEvent(new Event('input'));
    });
    // The poll under way at the change still waits the old interval: let it pass.
    await page.waitForTimeout(1100);
    const batch = 4;
    for (let n = 0; n < batch; n += 1)
      await publish(server.url, { author: 'ada', text: `batch ${n} ${'x'.repeat(300)}` });

    for (const { id } of POLLERS) {
      const shown = page.locator(`[data-technique="${id}"] [data-role="messages"] li[data-id]`);
      await eventually(
        async () => (await shown.count()) >= batch,
        async () => `${id} showed ${await shown.count()} of ${batch}`,
      );
      await eventually(
        async () => (await marksOf(page, id, TIMELINE_COLORS.message)).length >= batch,
        async () =>
          `${id}: ${batch} messages, ${(await marksOf(page, id, TIMELINE_COLORS.message)).length} ticks drawn`,
      );
      // Ask-and-answer at once: strokes, one a poll, never a bar across the interval.
      const requests = await marksOf(page, id, TIMELINE_COLORS.request);
      assert.ok(requests.length >= 2, `${id}: ${requests.length} request strokes`);
    }

    for (const { id } of TWO_WAY) {
      await page.locator(`input[name="via"][value="${id}"]`).check();
      await page.locator('input[name="text"]').fill('sent over the connection');
      await page.locator('input[name="text"]').press('Enter');
      await eventually(
        async () => (await marksOf(page, id, TIMELINE_COLORS.sent)).length === 1,
        async () => `${id}: ${(await marksOf(page, id, TIMELINE_COLORS.sent)).length} send marks, 1 expected`,
      );
      assert.ok((await keyOf(page, id)).sent, `${id}'s key explains the send mark`);
    }
    for (const { id } of ONE_WAY_STREAMS) {
      assert.deepEqual(await marksOf(page, id, TIMELINE_COLORS.sent), [], `${id} sends nothing of its own`);
      assert.equal((await keyOf(page, id)).sent, undefined);
    }

    // What each stream's one response carries is its own: no two keys alike.
    const carried = await Promise.all(STREAMS.map(async ({ id }) => (await keyOf(page, id)).connection));
    assert.equal(new Set(carried).size, STREAMS.length, `stream keys: ${JSON.stringify(carried)}`);

    // A response the server ended at its byte limit: capped, and the key says so; the
    // others never had one.
    await eventually(
      async () => {
        for (const { id } of ONE_WAY_STREAMS)
          if ((await marksOf(page, id, TIMELINE_COLORS.end)).length > 0) return true;
        return false;
      },
      async () => 'no stream was capped at its limit',
    );
    for (const { id } of techniques) {
      const caps = (await marksOf(page, id, TIMELINE_COLORS.end)).length;
      assert.equal(
        Boolean((await keyOf(page, id)).end),
        caps > 0,
        `${id}: ${caps} caps, key ${JSON.stringify(await keyOf(page, id))}`,
      );
    }
    assert.deepEqual(problems, []);
  });

  test("answers read in the request's own millisecond, or two in one, each get a line of their own", async (t) => {
    const server = await startServer(t);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${server.url}/techniques/${techniques[0]?.id}.html`);
    const lines = await page.evaluate(
      async (technique) => {
        // The page's own module, by the URL the browser loads it from (which tsc cannot follow).
        const module = '/sequence.js';
        const { sequenceDiagram } = (await import(module)) as {
          sequenceDiagram: (
            exchange: unknown,
            technique: unknown,
          ) => { querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }> };
        };
        const exchange = {
          request: 'GET /api/x HTTP/1.1\r\n',
          response: 'HTTP/1.1 200 OK\r\n',
          responseBytes: 30,
          firstByteMs: 0,
          elapsedMs: 5,
          chunks: [
            { atMs: 0, bytes: 10 },
            { atMs: 0, bytes: 10 },
            { atMs: 3, bytes: 10 },
            { atMs: 3, bytes: 10 },
          ],
        };
        const svg = sequenceDiagram(exchange, technique);
        return [...svg.querySelectorAll('[data-arrow] line')].map((line) => Number(line.getAttribute('y1')));
      },
      techniques.find((technique) => technique.capabilities.streams && !technique.capabilities.upgrades),
    );
    assert.equal(lines.length, 5);
    for (let i = 1; i < lines.length; i += 1)
      assert.ok((lines[i] as number) > (lines[i - 1] as number), `arrows on lines of their own: ${lines.join(', ')}`);
  });

  // Each page records on a server of its own, so the six can record at once.
  describe('the technique pages', { concurrency: true }, () => {
    for (const technique of techniques) {
      test(`/techniques/${technique.id}.html draws its recorded exchange, each arrow at its measured time`, async (t) => {
        const server = await startServer(t);
        await publish(server.url, { author: 'ada', text: 'already there' });
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        t.after(() => context.close());
        const page = await context.newPage();
        const recorded = page.waitForResponse((response) =>
          response.url().endsWith(`/api/transcripts/${technique.id}`),
        );
        await page.goto(`${server.url}/techniques/${technique.id}.html`);
        const transcript = await (await recorded).json();
        await page.locator('svg[data-role="sequence"]').waitFor({ timeout: 10_000 });
        const arrows = await page.locator('svg[data-role="sequence"] [data-arrow]').evaluateAll((groups) =>
          groups.map((group) => ({
            kind: group.getAttribute('data-arrow'),
            atMs: Number(group.getAttribute('data-at-ms')),
            y: Number(group.querySelector('line')?.getAttribute('y1')),
            from: Number(group.querySelector('line')?.getAttribute('x1')),
            to: Number(group.querySelector('line')?.getAttribute('x2')),
          })),
        );
        const request = arrows.find((arrow) => arrow.kind === 'request');
        assert.ok(request, 'a request arrow');
        assert.equal(request.atMs, 0);
        const responses = arrows.filter((arrow) => arrow.kind === 'response');
        assert.deepEqual(
          responses.map((arrow) => arrow.atMs),
          transcript.chunks.map((chunk: { atMs: number }) => chunk.atMs),
          'one answer arrow per read, at its time',
        );
        const [firstAnswer] = responses;
        assert.ok(firstAnswer, 'something came back');
        assert.equal(firstAnswer.atMs, transcript.firstByteMs);
        // Time goes down, and the answers go the other way from the request.
        const byTime = [...arrows].sort((a, b) => a.atMs - b.atMs);
        byTime.reduce((previous, arrow) => {
          assert.ok(arrow.y > previous.y, JSON.stringify(byTime));
          return arrow;
        });
        for (const answer of responses)
          assert.ok(Math.sign(answer.to - answer.from) === -Math.sign(request.to - request.from));

        const hold = page.locator('svg[data-role="sequence"] [data-role="hold"]');
        if (technique.capabilities.holdsRequest && !technique.capabilities.streams) {
          // The hold drawn is the hold measured: from the request down to the answer, which
          // came after the recording's publish.
          assert.ok(transcript.firstByteMs >= HOLD_BEFORE_PUBLISH_MS - 50, `held ${transcript.firstByteMs} ms`);
          const publishArrow = arrows.find((arrow) => arrow.kind === 'publish');
          assert.equal(publishArrow?.atMs, transcript.publishedAtMs);
          const box = await hold.evaluate((rect) => ({
            top: Number(rect.getAttribute('y')),
            height: Number(rect.getAttribute('height')),
          }));
          assert.ok(Math.abs(box.top - request.y) < 1, 'the hold starts at the request');
          assert.ok(Math.abs(box.top + box.height - firstAnswer.y) < 1, 'the hold ends at the answer');
          // Most of the picture's time is the hold, as it was most of the exchange's.
          const span = Math.max(...arrows.map((arrow) => arrow.y)) - request.y;
          assert.ok(box.height > 0.8 * span, `hold ${box.height} of ${span}`);
        } else assert.equal(await hold.count(), 0, 'nothing held without streaming');
        const open = page.locator('svg[data-role="sequence"] [data-role="open"]');
        assert.equal(await open.count(), technique.capabilities.streams ? 1 : 0);
      });
    }
  });
});
