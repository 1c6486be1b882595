/**
 * The delay harness: where a message's time goes between the server's feed and a page's
 * code, stage by stage, in Debian's Chromium (playwright-core). It serves the app in this
 * process, opens the probe page (`pages/delays/probe.js`: the clients asked for, nothing
 * else), publishes at a steady rate, and stamps every message at each stage it passes:
 *
 * - `ts`: the feed accepts it (the message's own `ts`);
 * - `written`: the server hands its bytes to the socket (socket.write, `stamps.ts`);
 * - `network`: Chromium's network stack reads them off its socket (its NetLog, `netlog.ts`;
 *   whole milliseconds);
 * - `renderer`: the renderer's main thread takes them (`devtools.ts`: `Network.dataReceived` for
 *   an HTTP body, `Network.webSocketFrameReceived` for a frame);
 * - `page`: the page's code runs with it (the probe's own stamp).
 *
 * Each run has its own server and its own Chromium (a NetLog is complete only once its
 * browser has closed).
 *
 * Run it: `node --import tsx pages/delays/harness.ts <id>[,<id>…] [rate] [count] [panel,fetch,ticker,separate,nodevtools]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../bench/browser/chromium.ts';
import { techniqueById, techniqueIds } from '../../server/contract/techniques.js';
import { buildApp } from '../../server/app.ts';
import { type RendererLog, listenToRenderer, rendererStamp } from './devtools.ts';
import { netLogArgs, socketReads } from './netlog.ts';
import { stampWrites } from './stamps.ts';

/** What to run in the probe page. */
export interface ProbeVariant {
  /** The registry's technique ids: one client each, in one page. */
  techniques: string[];
  /** `client`: each technique's page client; `fetch`: event-stream endpoints read with fetch(). */
  reader?: 'client' | 'fetch';
  /** Draw the side-by-side page's panel (its timeline every frame) around the client. */
  panel?: boolean;
  /** Who publishes: this process, into the feed (the default), or the page, with POST as its ticker does. */
  publisher?: 'server' | 'page';
  /** Each technique in a Chromium of its own, all in the one run: alone, under the same conditions. */
  separate?: boolean;
}

/** How a run goes. */
export interface RunOptions {
  /** Messages a second. */
  rate?: number;
  /** Messages measured (after three not counted). */
  count?: number;
  /** Each message's text. */
  text?: string;
  /** Listen with DevTools' Network domain (the `renderer` stage); its bookkeeping costs a little. */
  devtools?: boolean;
}

/** One message's stamps in one technique's client, epoch ms; a stage not seen is NaN. */
export interface MessageStages {
  technique: string;
  id: number;
  ts: number;
  written: number;
  network: number;
  renderer: number;
  page: number;
  /** `page` read through the page's clock-offset estimate, as the side-by-side page does. */
  pageViaOffset: number;
}

/** The medians of one run, ms from `ts`. */
export interface StageMedians {
  written: number;
  network: number;
  renderer: number;
  page: number;
  pageViaOffset: number;
}

export interface DelayRun {
  variant: ProbeVariant;
  messages: MessageStages[];
  /** Per technique. */
  medians: Record<string, StageMedians>;
  /** The page's clock-offset estimate: the shortest round trip and the offset it gave, ms. */
  clock: { rtt: number; offset: number };
}

/** Median of finite values; NaN when there is none. */
export function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One Chromium of a run, with the probe page and what its clients got. */
interface ProbeBrowser {
  techniques: string[];
  browser: Browser | undefined;
  page: Page;
  netLog: string;
  renderer: RendererLog | undefined;
}

/**
 * One run: the probe page with `variant` in a Chromium of its own (or, `separate`, one
 * Chromium per technique, all at once), `count` messages at `rate` a second (after three
 * to warm up, not counted), each message's stamps and the medians per stage.
 */
export async function measureDelays(
  variant: ProbeVariant,
  { rate = 5, count = 40, text = 'x'.repeat(40), devtools = true }: RunOptions = {},
): Promise<DelayRun> {
  const lab = await buildApp({ config: { logLevel: 'silent', heartbeatMs: 60_000 } });
  const written = new Map<string, number>();
  stampWrites(lab.app.server, written);
  const folder = await mkdtemp(join(tmpdir(), 'realtime-lab-delays-'));
  const groups = variant.separate ? variant.techniques.map((technique) => [technique]) : [variant.techniques];
  const opened: ProbeBrowser[] = [];
  const warmUp = 3;
  try {
    await lab.app.listen({ port: 0, host: '127.0.0.1' });
    const address = lab.app.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('server has no address');
    for (const [index, techniques] of groups.entries()) {
      const netLog = join(folder, `netlog-${index}.json`);
      const browser = await launchChromium(netLogArgs(netLog));
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const renderer = devtools ? await listenToRenderer(await page.context().newCDPSession(page)) : undefined;
      opened.push({ techniques, browser, page, netLog, renderer });
      const query = new URLSearchParams({ technique: techniques.join(','), reader: variant.reader ?? 'client' });
      if (variant.panel) query.set('panel', '1');
      await page.goto(`http://127.0.0.1:${address.port}/delays/?${query}`, { waitUntil: 'domcontentloaded' });
    }
    for (const { page } of opened)
      await waitFor(page, (probe) => probe.ready || probe.error !== null, 'the probe page to open its clients');
    const first = opened[0] as ProbeBrowser;
    if (variant.publisher === 'page') {
      await first.page.evaluate(
        ([rate, total, text]) => (globalThis as unknown as { probe: ProbeState }).probe.ticker(rate, total, text),
        [rate, warmUp + count, text] as const,
      );
    } else {
      for (let i = 0; i < warmUp + count; i += 1) {
        await lab.feed.publish({ author: 'probe', text });
        await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
      }
    }
    const messages: MessageStages[] = [];
    let clock = { rtt: Number.NaN, offset: Number.NaN };
    for (const probed of opened) {
      const probe = await waitFor(
        probed.page,
        (probe) => probe.arrivals.length >= (warmUp + count) * probed.techniques.length || probe.error !== null,
        `${warmUp + count} messages in each client of the probe page`,
      );
      if (probe.error) throw new Error(`the probe page failed: ${probe.error}`);
      if (probed === first) clock = probe.clock;
      await probed.browser?.close();
      probed.browser = undefined;
      messages.push(...stagesOf(probed, probe, written, await socketReads(probed.netLog), warmUp));
    }
    const medians: Record<string, StageMedians> = {};
    for (const technique of variant.techniques) {
      const mine = messages.filter((message) => message.technique === technique);
      const from = (stage: keyof StageMedians) => median(mine.map((message) => message[stage] - message.ts));
      medians[technique] = {
        written: from('written'),
        network: from('network'),
        renderer: from('renderer'),
        page: from('page'),
        pageViaOffset: from('pageViaOffset'),
      };
    }
    return { variant, messages, clock, medians };
  } finally {
    for (const { browser } of opened) await browser?.close();
    await lab.app.close();
    await rm(folder, { recursive: true, force: true });
  }
}

/** Each message's stamps in one browser of a run: its page's, the server's, its NetLog's and its renderer's. */
function stagesOf(
  probed: ProbeBrowser,
  probe: ProbeState,
  written: Map<string, number>,
  reads: Map<string, number>,
  warmUp: number,
): MessageStages[] {
  const wireOf = (technique: string) => {
    const wire = techniqueById(technique)?.wire;
    // Two techniques of one wire format (both pollers) cannot be told apart in the NetLog.
    const shared = probed.techniques.filter((other) => techniqueById(other)?.wire === wire).length > 1;
    return shared ? undefined : wire;
  };
  return probe.arrivals
    .filter((arrival) => arrival.id > warmUp)
    .map((arrival): MessageStages => {
      const wrote = written.get(`${arrival.technique} ${arrival.id}`) ?? Number.NaN;
      const wire = wireOf(arrival.technique);
      return {
        technique: arrival.technique,
        id: arrival.id,
        ts: arrival.ts,
        written: wrote,
        network: (wire && reads.get(`${wire} ${arrival.id}`)) || Number.NaN,
        renderer: probed.renderer ? rendererStamp(probed.renderer, arrival.technique, arrival.id, wrote) : Number.NaN,
        page: arrival.at,
        pageViaOffset: arrival.atServer,
      };
    });
}

/** What the probe page keeps in `window.probe`. */
interface ProbeState {
  arrivals: { technique: string; id: number; ts: number; at: number; atServer: number }[];
  clock: { rtt: number; offset: number };
  open: string[];
  ready: boolean;
  error: string | null;
  ticker(rate: number, total: number, text: string): void;
}

/**
 * Reads `window.probe` until `done` says so (polled from here: the page's CSP forbids the
 * eval that waitForFunction would need).
 */
async function waitFor(page: Page, done: (probe: ProbeState) => boolean, what: string): Promise<ProbeState> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = (await page.evaluate(() => (globalThis as unknown as { probe?: ProbeState }).probe)) ?? undefined;
    if (probe && done(probe)) return probe;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [techniques = techniqueIds.join(','), rate = '5', count = '40', variant = ''] = process.argv.slice(2);
  const run = await measureDelays(
    {
      techniques: techniques.split(','),
      reader: variant.includes('fetch') ? 'fetch' : 'client',
      panel: variant.includes('panel'),
      publisher: variant.includes('ticker') ? 'page' : 'server',
      separate: variant.includes('separate'),
    },
    { rate: Number(rate), count: Number(count), devtools: !variant.includes('nodevtools') },
  );
  const fixed = (value: number) => value.toFixed(2).padStart(6);
  console.log(
    `${techniques}${variant ? ` (${variant})` : ''} at ${rate}/s; clock estimate: rtt ${fixed(run.clock.rtt)} ms, offset ${fixed(run.clock.offset)} ms`,
  );
  for (const [technique, medians] of Object.entries(run.medians))
    console.log(
      `  ${technique.padEnd(16)} median ms after ts: written ${fixed(medians.written)}  network ${fixed(medians.network)}  renderer ${fixed(medians.renderer)}  page ${fixed(medians.page)}  (via offset ${fixed(medians.pageViaOffset)})`,
    );
}
