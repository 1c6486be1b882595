/**
 * The clients' own CPU, to tell when the bench, not the server, is what is slow: each
 * worker's CPU time over a phase, as a share of one core, and a warning when one is near
 * saturation (a worker at a full core delays its clients' reads, and the delays measured
 * are then partly the bench's).
 */

/** A worker above this share of one core during a phase may be the bottleneck. */
export const CLIENT_CPU_WARN_SHARE = 0.8;

export interface WorkerCpuSample {
  pid: number;
  cpuMs: number;
}

export interface ClientCpu {
  /** Milliseconds the phase lasted (wall clock). */
  windowMs: number;
  /** CPU ms of all workers together over the window. */
  totalMs: number;
  /** Per worker: CPU ms over the window and its share of one core (0..1, a little over from /proc's ticks). */
  workers: { pid: number; cpuMs: number; coreShare: number }[];
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

/** A warning when a worker was above CLIENT_CPU_WARN_SHARE of a core, null otherwise. */
export function clientCpuWarning(cpu: ClientCpu, what: string): string | null {
  const busy = cpu.workers.filter((w) => w.coreShare > CLIENT_CPU_WARN_SHARE);
  if (busy.length === 0) return null;
  const shares = busy.map((w) => `${Math.round(w.coreShare * 100)}%`).join(', ');
  return `${what}: ${busy.length} of ${cpu.workers.length} client workers used ${shares} of a core: the clients may be the bottleneck (more workers, or fewer clients), and the delays are partly theirs`;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
