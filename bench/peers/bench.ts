/**
 * `npm run bench -- --peers`: realtime-lab's techniques beside the established libraries
 * (bench/peers/peers.ts), family by family, each row on a fresh server process, as one
 * run in the shape of results.json (its rows in `peers`, `techniques` empty).
 */
import { type CpuSplitPlan, allowedCpus, cpuListOf, takeCpuSplit } from '../cpu-split.ts';
import { drivers } from '../drivers/index.ts';
import { machineAtStart, ownServersConfig } from '../machine.ts';
import type { BenchOptions } from '../options.ts';
import { type BenchResult, SCHEMA_VERSION } from '../result.ts';
import { type BestPerFamily, bestPerFamily } from './best.ts';
import type { PeersSelection } from './names.ts';
import { FAMILIES, type Family, peersNamed } from './peers.ts';
import { rowOfRounds } from './rounds.ts';
import { type PeerRowResult, type RowTarget, peerTarget, runRow, techniqueTarget } from './run.ts';

/** results.json's `peers`: the rows in family order, and the best of each family at each figure. */
export interface PeersResult {
  idleClients: number;
  /** Rounds of every row; each figure is the median of its rounds, each count their sum. */
  rounds: number;
  rows: PeerRowResult[];
  best: BestPerFamily;
  /**
   * The CPUs the servers and the bench were kept on (cpu-split.ts), as CPU lists; null
   * when they were not (the reason is in the warnings). Optional: older results have none.
   */
  cpuSplit?: { server: string; bench: string } | null;
}

/** Past this share of one core, the bench's own process may have slowed the deliveries it times. */
const BENCH_CPU_WARNING_PERCENT = 80;

/** Every selected technique that has a family, then every selected peer, family by family. */
export function targetsFor(options: Pick<BenchOptions, 'techniques'>, selection: PeersSelection): RowTarget[] {
  const techniques = options.techniques
    .map((id) => drivers.find((d) => d.id === id))
    .filter((d) => d !== undefined)
    .map(techniqueTarget)
    .filter((t) => t !== null);
  const peers = peersNamed(selection.names).map(peerTarget);
  const order = (family: Family) => FAMILIES.indexOf(family);
  // A stable sort: within a family, realtime-lab's rows first, in registry order, then the peers in theirs.
  return [...techniques, ...peers].sort((a, b) => order(a.family) - order(b.family));
}

export async function runPeersBench(
  options: BenchOptions & { peers: PeersSelection },
  onStep: (line: string) => void = () => undefined,
): Promise<BenchResult> {
  // The servers on a CPU of their own, the bench on the others, for the whole run.
  const cpus = takeCpuSplit();
  try {
    return await measureRounds(options, cpus, onStep);
  } finally {
    cpus.restore();
  }
}

async function measureRounds(
  options: BenchOptions & { peers: PeersSelection },
  plan: CpuSplitPlan,
  onStep: (line: string) => void,
): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const start = machineAtStart();
  const targets = targetsFor(options, options.peers);
  const clients = options.clients[0] ?? 1;
  const { rounds } = options.peers;
  // Round after round of every row, not every round of one row after another: a busy
  // moment on the machine then weighs on one round of several rows, which the median drops.
  const measured: PeerRowResult[][] = targets.map(() => []);
  for (let round = 1; round <= rounds; round += 1) {
    for (const [index, target] of targets.entries()) {
      const of = rounds > 1 ? `, round ${round}/${rounds}` : '';
      onStep(
        `[${index + 1}/${targets.length}${of}] ${target.side === 'peer' ? 'peer ' : 'realtime-lab '}${target.name}`,
      );
      const row = await runRow(target, {
        clients,
        idleClients: options.peers.idleClients,
        rate: options.rate,
        durationSec: options.durationSec,
        payloadBytes: options.payloadBytes,
        pollIntervalMs: options.pollIntervalMs,
        serverCpus: plan.split?.server,
        onStep,
      });
      measured[index]?.push(row);
      onStep(
        `✓ ${row.name}: ${row.messagesDelivered} / ${row.messagesExpected} delivered, ${row.duplicates} dup, ${row.wireBytesPerMessage ?? '–'} B/msg, p50 ${row.latencyMs?.p50 ?? '–'} ms`,
      );
    }
  }
  const rows = measured.map(rowOfRounds);
  const warnings: string[] = [];
  const busy = start.busyWarning();
  if (busy) warnings.push(busy);
  if (plan.reason !== undefined)
    warnings.push(
      `the servers and the bench shared the CPUs (${plan.reason}): delays include where the scheduler put them`,
    );
  for (const r of rows) {
    if (r.lost > 0 || r.duplicates > 0)
      warnings.push(`${r.name}: ${r.lost} lost, ${r.duplicates} duplicated of ${r.messagesExpected} expected`);
    if (r.benchCpuPercent > BENCH_CPU_WARNING_PERCENT)
      warnings.push(
        `${r.name}: the bench itself used ${r.benchCpuPercent}% of a core while publishing: its delays may be the bench's`,
      );
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    config: ownServersConfig(options, {
      scenario: 'peers',
      techniques: rows.filter((r) => r.side === 'realtime-lab').map((r) => r.name),
      clients,
    }),
    environment: {
      ...start.machine,
      autocannon:
        'the publisher only; subscribers are the techniques’ drivers, the peers’ own library clients, and ws’s WebSocket for the plain WebSocket peers',
      server:
        'a fresh server process per row on 127.0.0.1: realtime-lab (server/main.ts) or a peer program (bench/peers/servers/)',
      redis: null,
      startedAt,
      finishedAt: new Date().toISOString(),
    },
    techniques: [],
    backplane: null,
    peers: {
      idleClients: options.peers.idleClients,
      rounds,
      rows,
      best: bestPerFamily(rows),
      // As the kernel lists this process's CPUs now (still pinned), not as planned.
      cpuSplit: plan.split
        ? { server: cpuListOf(plan.split.server), bench: cpuListOf(allowedCpus() ?? plan.split.bench) }
        : null,
    },
    warnings,
  };
}
