/**
 * The clients' own CPU, to tell when the bench, not the server, is what is slow: each
 * worker's CPU time over a phase, as a share of one core, and a warning when one is near
 * saturation (a worker at a full core delays its clients' reads, and the delays measured
 * are then partly the bench's).
 */

/** A worker above this share of one core during a phase may be the bottleneck. */
export const CLIENT_CPU_WARN_SHARE = 0.8;
/**
 * A worker whose event loop ran this late (p99, ms) read its sockets that late: its
 * clients' delays are partly its own, even when its CPU share over the phase is low (the
 * fan-out comes in bursts).
 */
export const CLIENT_LOOP_DELAY_WARN_MS = 50;

export interface WorkerCpuSample {
  pid: number;
  cpuMs: number;
}

export interface ClientCpu {
  /** Milliseconds the phase lasted (wall clock). */
  windowMs: number;
  /** CPU ms of all workers together over the window. */
  totalMs: number;
  /**
   * Per worker: CPU ms over the window and its share of one core (0..1, a little over
   * from /proc's ticks), and its event-loop delay over it, ms, once known (after stop).
   */
  workers: { pid: number; cpuMs: number; coreShare: number; loopDelayP99Ms?: number; loopDelayMaxMs?: number }[];
}

/** The CPU the workers used between two `clientCpu()` readings `windowMs` apart. */
export function clientCpuBetween(
  before: readonly WorkerCpuSample[],
  after: readonly WorkerCpuSample[],
  windowMs: number,
): ClientCpu {
  const start = new Map(before.map((w) => [w.pid, w.cpuMs]));
  const workers = after.map((w) => {
    const cpuMs = Math.max(0, w.cpuMs - (start.get(w.pid) ?? 0));
    return { pid: w.pid, cpuMs, coreShare: windowMs > 0 ? round3(cpuMs / windowMs) : 0 };
  });
  return { windowMs: Math.round(windowMs), totalMs: workers.reduce((sum, w) => sum + w.cpuMs, 0), workers };
}

/** `cpu` with each worker's event-loop delay added, by pid. */
export function withLoopDelays(
  cpu: ClientCpu,
  loops: readonly { pid: number; p99Ms: number; maxMs: number }[],
): ClientCpu {
  return {
    ...cpu,
    workers: cpu.workers.map((w) => {
      const loop = loops.find((l) => l.pid === w.pid);
      return loop ? { ...w, loopDelayP99Ms: round3(loop.p99Ms), loopDelayMaxMs: round3(loop.maxMs) } : w;
    }),
  };
}

/**
 * A warning when a worker was above CLIENT_CPU_WARN_SHARE of a core, or its event loop
 * ran CLIENT_LOOP_DELAY_WARN_MS late (p99); null otherwise.
 */
export function clientCpuWarning(cpu: ClientCpu, what: string): string | null {
  const busy = cpu.workers.filter((w) => w.coreShare > CLIENT_CPU_WARN_SHARE);
  const late = cpu.workers.filter((w) => (w.loopDelayP99Ms ?? 0) > CLIENT_LOOP_DELAY_WARN_MS);
  const said: string[] = [];
  if (busy.length > 0)
    said.push(
      `${busy.length} of ${cpu.workers.length} client workers used ${busy.map((w) => `${Math.round(w.coreShare * 100)}%`).join(', ')} of a core`,
    );
  if (late.length > 0)
    said.push(
      `${late.length} of ${cpu.workers.length} client workers' event loops ran up to ${late.map((w) => `${Math.round(w.loopDelayP99Ms ?? 0)} ms`).join(', ')} late (p99)`,
    );
  if (said.length === 0) return null;
  return `${what}: ${said.join(', and ')}: the clients may be the bottleneck (more workers, or fewer clients), and the delays are partly theirs`;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
