/**
 * `npm run bench -- --strategies …`: the strategies run as a whole bench run, one server
 * process and one Chromium for every case, into the usual results.json (`techniques` empty,
 * `strategies` set).
 */
import { launchChromium } from '../browser/chromium.ts';
import { autocannonVersion } from '../engine.ts';
import type { BenchOptions } from '../options.ts';
import { type BenchResult, SCHEMA_VERSION } from '../result.ts';
import { startServerProcess } from '../server-process.ts';
import { casesOf } from './cases.ts';
import { deliveryFailure } from './figures.ts';
import { runStrategies } from './run.ts';
import { machineAtStart, ownServersConfig } from '../machine.ts';

/** Connections one auto client may hold at once: two attempts (a probe beside a long poll), the clock and report fetches, a margin. */
const CONNECTIONS_PER_CLIENT = 6;

/** Runs the cases `options` names; the result says in `warnings` if anything was lost. */
export async function runStrategiesBench(
  options: BenchOptions,
  onProgress: (line: string) => void = () => undefined,
): Promise<BenchResult> {
  if (!options.strategies) throw new Error('runStrategiesBench needs --strategies');
  const startedAt = new Date().toISOString();
  const start = machineAtStart();
  const clients = options.clients[0] as number;
  const server = await startServerProcess({
    MAX_CONNECTIONS_PER_ADDRESS: String(clients * CONNECTIONS_PER_CLIENT + 16),
  });
  const browser = await launchChromium();
  try {
    const strategies = await runStrategies(browser, {
      baseUrl: server.baseUrl,
      cases: casesOf(options.strategies, options.blockSets),
      clients,
      rate: options.rate,
      durationSec: options.durationSec,
      payloadBytes: options.payloadBytes,
      onProgress,
    });
    const failure = deliveryFailure(strategies);
    const warnings = failure ? [`the auto clients lost or repeated messages: ${failure}`] : [];
    const busy = start.busyWarning('times');
    if (busy) warnings.unshift(busy);
    return {
      schemaVersion: SCHEMA_VERSION,
      config: ownServersConfig(options, {
        scenario: options.scenario,
        techniques: [],
        clients,
        clientKinds: ['browser'],
      }),
      environment: {
        ...start.machine,
        autocannon: autocannonVersion(),
        browser: `Chromium ${browser.version()}, headless, driven by playwright-core`,
        server:
          'one fresh server process for all the cases (each client id with blocks and byte counts of its own), on 127.0.0.1',
        redis: null,
        startedAt,
        finishedAt: new Date().toISOString(),
      },
      techniques: [],
      strategies,
      backplane: null,
      warnings,
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
