/**
 * The strategies run (`--strategies`): for each case (a strategy under a block set), N
 * Chromium pages each run the auto panel's own client (pages/bench/auto.js) under a client
 * id of its own whose blocks the bench set on the server first; the publisher sends at the
 * run's rate from the moment every client has started, so messages are published before,
 * during and after each fallback or upgrade; then the bench waits until every client shows
 * every message (or the settle deadline), and takes each client's report. One server for
 * every case: each client's blocks and byte counts are its own id's.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext } from 'playwright-core';
import { DeliveryTracker } from '../delivery.ts';
import { paddedText, publish } from '../publisher.ts';
import { type BlockSet, type StrategyCase, caseLabel } from './cases.ts';
import { type StrategiesResult, type StrategyCaseResult, type StrategyClientReport, caseFigures } from './figures.ts';

/** The page each client runs. */
export const AUTO_BENCH_PAGE = '/bench/auto.html';
/**
 * After publishing, how long every client may take to show everything and to settle (no
 * attempt still trying or probing), ms: the longest a
 * fallback takes to give up one silent technique (a long poll's hold, 25 s, plus 3 s)
 * would be too long for a bench case, and the buffered streams' deadline is 3 s each: 15 s
 * covers a fallback through three of them and the failures before.
 */
export const SETTLE_MS = 15_000;
/** How often the bench collects what the pages showed, ms. */
const COLLECT_EVERY_MS = 200;

export interface StrategiesRunOptions {
  baseUrl: string;
  cases: readonly StrategyCase[];
  clients: number;
  rate: number;
  durationSec: number;
  payloadBytes: number;
  onProgress?: (line: string) => void;
}

/** Runs every case against the server at `baseUrl` with pages of `browser`. */
export async function runStrategies(browser: Browser, options: StrategiesRunOptions): Promise<StrategiesResult> {
  const cases: StrategyCaseResult[] = [];
  for (const [index, c] of options.cases.entries()) {
    options.onProgress?.(`[${index + 1}/${options.cases.length}] ${caseLabel(c)}, ${options.clients} clients`);
    cases.push(await runCase(browser, c, options));
  }
  return {
    clients: options.clients,
    rate: options.rate,
    durationSec: options.durationSec,
    settleMs: SETTLE_MS,
    cases,
  };
}

async function runCase(browser: Browser, c: StrategyCase, options: StrategiesRunOptions): Promise<StrategyCaseResult> {
  const tag = randomBytes(4).toString('hex');
  const author = `bench-auto-${tag}`;
  const clientIds = Array.from({ length: options.clients }, (_, i) => `auto-${tag}-${i}`);
  const contexts: BrowserContext[] = [];
  try {
    // One context per client: each its own connections, as one user each.
    const pages = await Promise.all(
      clientIds.map(async (clientId) => {
        const context = await browser.newContext();
        contexts.push(context);
        const page = await context.newPage();
        await page.goto(`${options.baseUrl}${AUTO_BENCH_PAGE}`, { waitUntil: 'load' });
        await page.waitForFunction('typeof window.benchAutoStart === "function"');
        await setBlocks(options.baseUrl, clientId, c.blocks);
        return page;
      }),
    );
    await Promise.all(
      pages.map((page, i) =>
        page.evaluate((settings) => (globalThis as unknown as AutoPage).benchAutoStart(settings), {
          strategy: c.strategy,
          clientId: clientIds[i] as string,
        }),
      ),
    );
    const tracker = new DeliveryTracker(author, options.clients);
    const collect = async () => {
      const batches = await Promise.all(
        pages.map((page) => page.evaluate(() => (globalThis as unknown as AutoPage).benchAutoReceived())),
      );
      for (const [client, batch] of batches.entries())
        for (const message of batch) tracker.record(client, { ...message, ts: 0 }, 0, 0);
    };
    let collecting = true;
    const collector = (async () => {
      while (collecting) {
        await collect();
        await pause(COLLECT_EVERY_MS);
      }
    })();
    const count = Math.round(options.rate * options.durationSec);
    const published =
      count === 0
        ? { ids: [] as number[] }
        : await publish({
            baseUrl: options.baseUrl,
            rate: options.rate,
            count,
            author,
            text: paddedText(options.payloadBytes, author),
          });
    const deadline = performance.now() + SETTLE_MS;
    while (!tracker.hasAll(published.ids) && performance.now() < deadline) await pause(COLLECT_EVERY_MS);
    collecting = false;
    await collector;
    await collect();
    // Settled too: an attempt still trying or probing has not yet cost what it will (a
    // refused WebSocket's second handshake comes after a backoff).
    const report = () =>
      Promise.all(pages.map((page) => page.evaluate(() => (globalThis as unknown as AutoPage).benchAutoReport())));
    let reports = await report();
    while (reports.some(unsettled) && performance.now() < deadline) {
      await pause(COLLECT_EVERY_MS);
      reports = await report();
    }
    await Promise.all(pages.map((page) => page.evaluate(() => (globalThis as unknown as AutoPage).benchAutoStop())));
    const figures = tracker.figures();
    return caseFigures({ ...c, label: caseLabel(c) }, reports, {
      published: published.ids.length,
      delivered: figures.messagesDelivered,
      shownTwice: figures.duplicates,
    });
  } finally {
    await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
    await Promise.all(clientIds.map((clientId) => setBlocks(options.baseUrl, clientId, {}).catch(() => undefined)));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a client still has an attempt under way: neither in use nor given up. */
const unsettled = (report: StrategyClientReport) =>
  report.attempts.some((attempt) => attempt.outcome === 'trying' || attempt.outcome === 'probing');

/** What pages/bench/auto.js puts on its window. */
interface AutoPage {
  benchAutoStart(settings: { strategy: string; clientId: string }): Promise<void>;
  benchAutoReceived(): { id: number; author: string; via: string }[];
  benchAutoReport(): Promise<StrategyClientReport>;
  benchAutoStop(): void;
}

/** Sets `clientId`'s blocks on the server (`PUT /api/blocks`); an empty set lifts them. */
async function setBlocks(baseUrl: string, clientId: string, blocks: BlockSet): Promise<void> {
  const url = `${baseUrl}/api/blocks?client=${encodeURIComponent(clientId)}`;
  const response =
    Object.keys(blocks).length === 0
      ? await fetch(url, { method: 'DELETE' })
      : await fetch(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(blocks),
        });
  if (!response.ok)
    throw new Error(`PUT /api/blocks for ${clientId}: HTTP ${response.status} ${await response.text()}`);
}
