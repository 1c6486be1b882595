/**
 * Browser subscribers: each one a headless Chromium page of its own, in a browser context
 * of its own, running the side-by-side page's client of the technique
 * (`pages/clients/<id>.js`, loaded by id by `pages/bench/subscriber.js`). One context per
 * subscriber is what real users are: each has its own connections, where pages of one
 * context would share Chromium's six connections per host, and a seventh stream would
 * wait for one of them to end. The forever iframe's client also takes one page for
 * itself (it answers to two fixed names on its window).
 *
 * Requests and bytes still come from the server's socket counters (every request of these
 * clients carries the run's `?client=` id); the pages report what they receive, and the
 * delay each measured, to the bench's DeliverySink.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SubscribeContext, SubscriberReport, Subscribers } from '../drivers/driver.ts';
import { fetchClientStats } from '../drivers/driver.ts';

/** The bench page each subscriber opens (pages/bench/index.html). */
export const BENCH_PAGE = '/bench/';
/** Pages opened at once while connecting: more only queues in a 2-core browser. */
const OPENING_AT_ONCE = 4;
/** After asking each page to close its client, how long the goodbyes (a close frame) may take, ms. */
const CLOSE_WAIT_MS = 150;

/** What a page reports, as pages/bench/subscriber.js sends it. */
type Report =
  | { kind: 'message'; id: number; ts: number; author: string; bytes: number; delayMs: number }
  | { kind: 'gap'; missed: number }
  | { kind: 'state'; state: string }
  | { kind: 'reconnect' }
  | { kind: 'clock'; offsetMs: number; uncertaintyMs: number }
  | { kind: 'failed'; reason: string };

/** The clocks the pages estimated: the worst uncertainty among them, ms. */
export interface BrowserClockFigures {
  worstUncertaintyMs: number;
}

export interface BrowserSubscribers extends Subscribers {
  /** The pages' clock estimates so far. */
  clock(): BrowserClockFigures;
  /** When the loaded pages were told to connect (performance.now()), or null before. */
  connectingSince(): number | null;
}

/** The fragment a subscriber page reads its settings from (never sent to the server). */
export function benchPageUrl(context: SubscribeContext): string {
  const settings = new URLSearchParams({
    technique: context.technique.id,
    client: context.clientId,
    since: String(context.since),
    interval: String(context.pollIntervalMs),
  });
  if (context.epoch) settings.set('epoch', context.epoch);
  return `${context.baseUrl}${BENCH_PAGE}#${settings}`;
}

/** Opens `context.clients` subscriber pages in `browser`; each reports to `context.tracker`. */
export function browserSubscribers(browser: Browser, context: SubscribeContext): BrowserSubscribers {
  const { clients, tracker } = context;
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  const open = new Set<number>();
  let errors = 0;
  let reconnects = 0;
  let worstUncertaintyMs = 0;
  let stopping = false;
  let connectingSince: number | null = null;
  let allOpen!: () => void;
  let failed!: (error: Error) => void;
  const pagesOpen = new Promise<void>((resolve, reject) => {
    allOpen = resolve;
    failed = reject;
  });

  const onReports = (index: number) => (batch: Report[]) => {
    for (const report of batch) {
      if (report.kind === 'message') {
        tracker.record(index, report, report.delayMs, report.bytes);
      } else if (report.kind === 'gap') {
        tracker.gap(index, report.missed);
      } else if (report.kind === 'state') {
        if (report.state === 'OPEN' && !open.has(index)) {
          open.add(index);
          if (open.size === clients) allOpen();
        }
      } else if (report.kind === 'reconnect') {
        reconnects += 1;
      } else if (report.kind === 'clock') {
        worstUncertaintyMs = Math.max(worstUncertaintyMs, report.uncertaintyMs);
      } else if (report.kind === 'failed') {
        errors += 1;
        failed(new Error(`browser subscriber ${index}: ${report.reason}`));
      }
    }
  };

  const openOne = async (index: number) => {
    const browserContext = await browser.newContext();
    contexts.push(browserContext);
    const page = await browserContext.newPage();
    pages.push(page);
    // What the browser itself says went wrong: a failed request, an error in the page.
    page.on('console', (message) => {
      if (message.type() === 'error' && !stopping) errors += 1;
    });
    page.on('pageerror', () => {
      if (!stopping) errors += 1;
    });
    await page.exposeFunction('benchReport', onReports(index));
    await page.goto(benchPageUrl(context), { waitUntil: 'load' });
    await page.evaluate('window.benchLoaded');
  };

  const opening = (async () => {
    let next = 0;
    const worker = async () => {
      while (next < clients && !stopping) await openOne(next++);
    };
    await Promise.all(Array.from({ length: Math.min(OPENING_AT_ONCE, clients) }, worker));
  })();
  opening.catch((error: Error) => failed(error));

  const ready = (async () => {
    await opening;
    // Every page loaded and its clock estimated: now all connect at once.
    connectingSince = performance.now();
    await Promise.all(pages.map((page) => page.evaluate('window.benchStart()')));
    await pagesOpen;
    // A client may say OPEN before its request is at the server (an iframe cannot tell):
    // ready once the server has counted every first request.
    await requestsArrived(context, clients);
  })();

  return {
    ready,
    clock: () => ({ worstUncertaintyMs }),
    connectingSince: () => connectingSince,
    async stop(): Promise<SubscriberReport> {
      stopping = true;
      await opening.catch(() => undefined);
      await Promise.all(pages.map((page) => page.evaluate('window.benchClose?.()').catch(() => undefined)));
      await new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS));
      await Promise.all(contexts.map((browserContext) => browserContext.close().catch(() => undefined)));
      return { errors, reconnects };
    },
  };
}

/** Resolves once the server has counted `count` requests of this run's client id for its technique. */
async function requestsArrived(context: SubscribeContext, count: number, timeoutMs = 30_000): Promise<void> {
  const technique = context.technique.id;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = await fetchClientStats(context.baseUrl, context.clientId);
    if ((stats[technique]?.httpRequests ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${technique}: the server saw fewer than ${count} browser subscribers within ${timeoutMs} ms`);
}
