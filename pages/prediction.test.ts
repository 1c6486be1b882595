/**
 * Predict, then measure, on the side-by-side page in Chromium: every panel shows its
 * technique's model (server/contract/models.js, the bench's) beside the server's count of
 * what the panel's client cost; after a few seconds of the ticker they agree within the
 * model's tolerance; the "cost at N clients" line scales with N.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniqueIds, withCapabilities } from '../server/contract/techniques.js';
import { startServer } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { after, before, describe, test } from '../test/suite.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium: never beside another, nor a bench run (test/heavy.ts).
await takeHeavySlot();

/** Ticker messages a second, and for how long: enough messages for a mean delay, a short test. */
const TICKER_RATE = '5';
const TICKING_MS = 4000;
/** The client counts the cost line offers (issue 17). */
const COST_CLIENTS = [30, 1000, 100_000];
/** The rows each panel judges, and the one that is a measured input on both sides. */
const JUDGED = ['requestsPerMinute', 'headersPerMessage', 'framingPerMessage', 'delayMs'];

describe('predictions in the side-by-side page', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  test('every panel shows its prediction beside the measurement: they agree after the ticker, the mark and the cost line follow', async (t) => {
    const server = await startServer(t);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' });
    for (const id of techniqueIds)
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: /^OPEN$/ })
        .waitFor({ timeout: 10_000 });

    // The page samples the server's clock again once its clients are open and it is quiet
    // (CLOCK_RESAMPLE_AFTER_MS): delays measured before that carry the first sample's error.
    await page.waitForTimeout(1500);
    await page.selectOption('#ticker', TICKER_RATE);
    await page.waitForTimeout(TICKING_MS);
    await page.selectOption('#ticker', '0');
    // Two refreshes of the server's figures after the last message: every count is in.
    await page.waitForTimeout(2200);

    const panels = await Promise.all(
      techniqueIds.map(async (id) => ({
        id,
        rows: Object.fromEntries(
          await page.locator(`[data-technique="${id}"] [data-role="prediction"] tr[data-figure]`).evaluateAll((rows) =>
            rows.map((row) => [
              row.getAttribute('data-figure'),
              {
                predicted: Number(row.getAttribute('data-predicted')),
                measured: Number(row.getAttribute('data-measured')),
                agrees: row.getAttribute('data-agrees'),
                allowed: Number(row.getAttribute('data-allowed')),
                shown: [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? ''),
                marked: row.classList.contains('off'),
              },
            ]),
          ),
        ) as Record<
          string,
          {
            predicted: number;
            measured: number;
            agrees: string | null;
            allowed: number;
            shown: string[];
            marked: boolean;
          }
        >,
      })),
    );
    // Counts and bytes must agree. Delays are judged in the page, and the mark must match
    // the judgement, but this test does not ask them to fall inside: on a shared 2-core
    // machine Chromium's delays (a stream's ±10 ms allowance, a few polls' mean) are noise.
    const parted = panels.flatMap(({ id, rows }) =>
      JUDGED.filter((key) => {
        const row = rows[key];
        return key !== 'delayMs' && row?.agrees !== 'true';
      }).map((key) => `${id} ${key}: ${JSON.stringify(rows[key])}`),
    );
    assert.deepEqual(parted, [], 'where the model and the wire part');
    for (const { id, rows } of panels) {
      const figures = JSON.stringify(rows);
      for (const key of JUDGED) {
        const row = rows[key];
        assert.ok(row, `${id}: no ${key} row`);
        assert.ok(Number.isFinite(row.predicted) && Number.isFinite(row.measured), `${id} ${key}: ${figures}`);
        assert.ok(
          row.shown.every((text) => text !== '–'),
          `${id} ${key} shows both: ${figures}`,
        );
        const inside = Math.abs(row.measured - row.predicted) <= row.allowed + 1e-9;
        assert.equal(row.agrees, String(inside), `${id} ${key}: judged against its tolerance: ${figures}`);
        assert.equal(row.marked, !inside, `${id} ${key}: marked exactly when outside the tolerance: ${figures}`);
      }
      const payload = rows.payloadPerMessage;
      assert.ok(payload && payload.measured > 20, `${id}: payload measured: ${figures}`);
      assert.equal(payload.predicted, payload.measured, `${id}: the payload is an input, the same both sides`);
    }
    assert.deepEqual(errors, []);

    // The cost line, read and changed in one go, between two refreshes: exactly N × one client.
    const costs = await Promise.all(
      techniqueIds.map((id) =>
        page.locator(`[data-technique="${id}"] [data-role="prediction"]`).evaluate(
          // biome-ignore lint/suspicious/noExplicitAny: a DOM element in the page; this file's types have no DOM
          (block: any, counts: number[]) => {
            const select = block.querySelector('select[data-role="cost-clients"]');
            const line = block.querySelector('[data-role="cost-line"]');
            const offered = [...select.options].map((option: { value: string }) => Number(option.value));
            if (JSON.stringify(offered) !== JSON.stringify(counts)) throw new Error(`offered: ${offered}`);
            return counts.map((count) => {
              select.value = String(count);
              select.dispatchEvent(new block.ownerDocument.defaultView.Event('change'));
              return {
                clients: Number(line.dataset.clients),
                requests: Number(line.dataset.requestsPerSecond),
                bytes: Number(line.dataset.bytesPerSecond),
                text: String(line.textContent),
              };
            });
          },
          COST_CLIENTS,
        ),
      ),
    );
    for (const [index, lines] of costs.entries()) {
      const id = techniqueIds[index];
      const [first] = lines;
      assert.ok(first && first.requests > 0 && first.bytes > 0, `${id}: ${JSON.stringify(lines)}`);
      for (const line of lines) {
        const factor = line.clients / first.clients;
        assert.ok(Math.abs(line.requests / first.requests - factor) < 1e-9 * factor, `${id}: ${JSON.stringify(lines)}`);
        assert.ok(Math.abs(line.bytes / first.bytes - factor) < 1e-9 * factor, `${id}: ${JSON.stringify(lines)}`);
      }
      assert.equal(new Set(lines.map((line) => line.text)).size, lines.length, `${id}: the words change with N`);
    }

    // The same block and model fed a stream's window by hand, for a mark that does not hang
    // on this machine's timing: one request is the model's, five are not (a client that
    // keeps reconnecting). No named functions inside: tsx would name them with a helper
    // the page does not have.
    const marks = await page.evaluate(
      async ({ stream, module }) => {
        const { PredictionBlock } = await import(module);
        const block = new PredictionBlock(stream);
        block.state('CONNECTING');
        for (const id of [1, 2, 3]) block.message({ id, ts: Date.now(), author: 'a', text: 'b' }, 1);
        // Some time in the window: a window of no time predicts nothing.
        await new Promise((resolve) => setTimeout(resolve, 50));
        return [5, 1].map((requests) => {
          block.update(
            {
              openConnections: 1,
              activeRequests: 1,
              httpRequests: requests,
              messagesDelivered: 3,
              payloadBytes: 300,
              bytesIn: { headers: 400, body: 0 },
              bytesOut: { headers: 200, body: 300 + 3 * 20 },
            },
            { intervalMs: 1000, epoch: 'e', rttMs: 1 },
          );
          const row = block.rows.requestsPerMinute.row;
          return { requests, marked: row.classList.contains('off'), agrees: row.dataset.agrees };
        });
      },
      { stream: withCapabilities({ streams: true, upgrades: false })[0], module: '/prediction.js' },
    );
    assert.deepEqual(marks, [
      { requests: 5, marked: true, agrees: 'false' },
      { requests: 1, marked: false, agrees: 'true' },
    ]);
  });
});
