/**
 * The machine a bench run is measured on, as results.json records it, and the warning a
 * busy one deserves: the same for every kind of run (techniques, protocols, strategies,
 * peers, crowd); and the configuration of a run on its own loopback servers.
 */
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { round } from './delivery.ts';
import type { BenchOptions } from './options.ts';
import type { BenchResult } from './result.ts';

type Machine = Pick<
  BenchResult['environment'],
  'node' | 'platform' | 'arch' | 'osRelease' | 'cpus' | 'cpuModel' | 'totalMemoryBytes' | 'loadAverage'
>;

/** This machine as a run saw it at its start, and what its load then says about the figures. */
export interface MachineAtStart {
  machine: Machine;
  /**
   * The warning for a run that started on a busy machine (a 1-minute load average above
   * half its CPUs), saying what may be noisy; undefined on a quiet one.
   */
  busyWarning(noisy?: string): string | undefined;
}

/** This machine, with its load average now: call it before the run starts. */
export function machineAtStart(): MachineAtStart {
  const load = loadavg();
  const count = cpus().length;
  return {
    machine: {
      node: process.version,
      platform: platform(),
      arch: arch(),
      osRelease: release(),
      cpus: count,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      totalMemoryBytes: totalmem(),
      loadAverage: load.map((l) => round(l)),
    },
    busyWarning(noisy = 'figures') {
      const [now] = load;
      if (now === undefined || now <= count * 0.5) return undefined;
      return `the machine was busy before the bench started (load average ${now.toFixed(2)} on ${count} CPUs): ${noisy} may be noisy`;
    },
  };
}

/** What a run on its own servers says of itself beside the machine: see `ownServersConfig`. */
export interface OwnServersRun {
  scenario: string;
  techniques: string[];
  clients: BenchResult['config']['clients'];
  clientKinds?: BenchResult['config']['clientKinds'];
}

/**
 * The `config` of a run that starts its own servers on this machine's loopback, each on
 * one in-memory feed, with no shaper, proxy or chaos between (the protocols, strategies,
 * peers, crowd and storm runs): what differs is said in `run`, the publishing is the
 * options'.
 */
export function ownServersConfig(
  options: Pick<BenchOptions, 'rate' | 'durationSec' | 'payloadBytes' | 'pollIntervalMs'>,
  run: OwnServersRun,
): BenchResult['config'] {
  return {
    scenario: run.scenario,
    techniques: run.techniques,
    clients: run.clients,
    rate: options.rate,
    durationSec: options.durationSec,
    payloadBytes: options.payloadBytes,
    pollIntervalMs: options.pollIntervalMs,
    url: null,
    chaos: false,
    feeds: ['memory'],
    nodes: 1,
    network: null,
    clientKinds: run.clientKinds ?? ['node'],
  };
}
