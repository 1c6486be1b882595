/**
 * `npm run bench -- --http 1.1,2 --tls`: the protocol comparison as a whole run, in the
 * shape of results.json (its runs in `protocols`, `techniques` empty).
 */
import { drivers } from '../drivers/index.ts';
import type { BenchOptions } from '../options.ts';
import { type BenchResult, SCHEMA_VERSION } from '../result.ts';
import { type Protocol, type ProtocolPlan, plansFor } from './protocol.ts';
import { runProtocols } from './run.ts';
import { machineAtStart, ownServersConfig } from '../machine.ts';

/** Runs every selected technique over every protocol of `options.protocols`. */
export async function runProtocolBench(
  options: BenchOptions & { protocols: Protocol[] },
  onRun?: (index: number, total: number, plan: ProtocolPlan) => void,
): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const start = machineAtStart();
  const selected = options.techniques.map((id) => drivers.find((d) => d.id === id)).filter((d) => d !== undefined);
  const plans = selected.flatMap((technique) => plansFor(technique, options.protocols));
  const clients = options.clients[0] ?? 1;
  const runs = await runProtocols(plans, {
    clients,
    rate: options.rate,
    durationSec: options.durationSec,
    payloadBytes: options.payloadBytes,
    pollIntervalMs: options.pollIntervalMs,
    onRun,
  });
  const warnings = runs
    .filter((r) => r.lost > 0 || r.duplicates > 0)
    .map((r) => `${r.technique} over ${r.wire} (${r.sharing}): ${r.lost} lost, ${r.duplicates} duplicated`);
  const busy = start.busyWarning();
  if (busy) warnings.unshift(busy);
  return {
    schemaVersion: SCHEMA_VERSION,
    config: {
      ...ownServersConfig(options, { scenario: options.scenario, techniques: options.techniques, clients }),
      protocols: options.protocols,
    },
    environment: {
      ...start.machine,
      autocannon: 'not used (it speaks HTTP/1.1 only): node:http, node:http2 and ws on the bench’s own sockets',
      server:
        'a fresh server process per technique and protocol, on 127.0.0.1 (TLS=1 with a development certificate the bench made, for TLS and HTTP/2)',
      redis: null,
      startedAt,
      finishedAt: new Date().toISOString(),
    },
    techniques: [],
    backplane: null,
    protocols: runs,
    warnings,
  };
}
