/**
 * `--browser`: the bench's subscriber set made of Chromium pages, for any technique. One
 * Chromium serves the whole bench; each run opens its pages (browserSubscribers) and
 * closes them, and is measured with the browser's own CPU beside the server's, so that a
 * run where Chromium was the bottleneck says so.
 */
import type { Browser } from 'playwright-core';
import type { SubscribeContext, Subscribers } from '../drivers/driver.ts';
import type { TechniqueResult } from '../result.ts';
import { BROWSER_SATURATED_CPU_PERCENT, browserClientsWarning } from './capacity.ts';
import { launchChromium } from './chromium.ts';
import { chromiumCpuMs } from './cpu.ts';
import { BENCH_PAGE, type BrowserSubscribers, browserSubscribers } from './subscribers.ts';

/** The pages' clock offsets are trusted to this, ms; past it the result says so. */
const CLOCK_UNCERTAINTY_WARN_MS = 1;

export class BrowserClients {
  readonly #browser: Browser;
  /** The subscriber sets of the run under way (one per server node). */
  #sets: BrowserSubscribers[] = [];
  /**
   * When the run's pages were all connected, and Chromium's CPU then: its figures cover
   * receiving only, since loading a page costs far more than a message does.
   */
  #receivingFrom: { at: number; cpuMs: number | null } | null = null;

  private constructor(browser: Browser) {
    this.#browser = browser;
  }

  /** Launches the bench's Chromium. */
  static async launch(): Promise<BrowserClients> {
    return new BrowserClients(await launchChromium());
  }

  /** `Chromium 120.0.6099.224`, for results.json. */
  get version(): string {
    return `Chromium ${this.#browser.version()}, headless, driven by playwright-core`;
  }

  /** What `TechniqueResult.client` says of these subscribers. */
  describe(technique: string): string {
    return `Chromium pages, one per client in a context of its own, each running pages/clients/${technique}.js (the side-by-side page's client) on ${BENCH_PAGE}`;
  }

  /** Opens the run's subscriber pages (a BenchDriver's `subscribe`, for any technique). */
  subscribe(context: SubscribeContext): Subscribers {
    const set = browserSubscribers(this.#browser, context);
    this.#sets.push(set);
    set.ready.then(
      () => (this.#receivingFrom = { at: performance.now(), cpuMs: chromiumCpuMs() }),
      () => undefined,
    );
    return set;
  }

  /**
   * When the run's pages began to connect (performance.now()), or null: loading pages
   * takes seconds, and the time they count as connected starts after it.
   */
  connectingSince(): number | null {
    const times = this.#sets.map((set) => set.connectingSince()).filter((time): time is number => time !== null);
    return times.length > 0 ? Math.min(...times) : null;
  }

  /** The run's browser figures for its result, once its pages are closed; the end of the run for this object. */
  figures(technique: string): Pick<TechniqueResult, 'client' | 'clientKind' | 'browser'> {
    const from = this.#receivingFrom;
    const endCpuMs = chromiumCpuMs();
    const cpuMs = from?.cpuMs != null && endCpuMs !== null ? endCpuMs - from.cpuMs : null;
    const cpuPercent = cpuMs === null || !from ? null : (cpuMs / (performance.now() - from.at)) * 100;
    this.#receivingFrom = null;
    const clockUncertaintyMs = Math.max(0, ...this.#sets.map((set) => set.clock().worstUncertaintyMs));
    this.#sets = [];
    return {
      client: this.describe(technique),
      clientKind: 'browser',
      browser: {
        cpuMs: cpuMs === null ? null : Math.round(cpuMs),
        cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
        saturated: cpuPercent !== null && cpuPercent > BROWSER_SATURATED_CPU_PERCENT,
        clockUncertaintyMs: Math.round(clockUncertaintyMs * 1000) / 1000,
      },
    };
  }

  /** What a browser run's result should warn of. */
  warnings(result: TechniqueResult): string[] {
    const warnings: string[] = [];
    const browser = result.browser;
    if (browser?.saturated)
      warnings.push(
        `Chromium was the bottleneck (${browser.cpuPercent}% of a core while receiving, past ${BROWSER_SATURATED_CPU_PERCENT}%): the delays include the browser's own queueing`,
      );
    const tooMany = browserClientsWarning(result.clients);
    if (tooMany) warnings.push(tooMany);
    if (browser && browser.clockUncertaintyMs > CLOCK_UNCERTAINTY_WARN_MS)
      warnings.push(`a page's clock offset to the server is only known to ±${browser.clockUncertaintyMs} ms`);
    return warnings;
  }

  async close(): Promise<void> {
    await this.#browser.close();
  }
}
