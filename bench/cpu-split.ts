/**
 * Keeps the server under test and the bench on CPUs of their own (Linux, through
 * util-linux's `taskset`), for the runs whose clients fit in one process (`--peers`).
 *
 * Why: on loopback, a server's write to a socket wakes the bench process reading it, and
 * Linux takes a socket's wake-up as a hint that the writer is about to sleep, so it often
 * runs the reader on the writer's CPU. The two then take turns on one CPU while the other
 * idles: a fan-out to 100 WebSocket subscribers became a contest of scheduler placement.
 * Measured on the 2-CPU machine of the reference runs (each server's frame writes stamped,
 * two 10-s runs each): a write of the first 50 of a publish took 17-27 µs unpinned and
 * 7.5-10 µs pinned, and the delay p50 of every WebSocket row fell from ~2.2 ms to ~1 ms.
 * Real clients are on other machines and never take the server's CPU.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Which CPUs the server runs on, and which the bench (its every thread) does. */
export interface CpuSplit {
  server: number[];
  bench: number[];
}

/** A split, or why there is none (then both run where the system puts them). */
export type CpuSplitPlan = { split: CpuSplit; reason?: undefined } | { split: null; reason: string };

/** Reads a CPU list as the kernel and taskset write it: `0-3,6,8-9`. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new Error(`not a CPU list: ${JSON.stringify(list)}`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu += 1) cpus.push(cpu);
  }
  return cpus;
}

/** Writes CPUs as a list taskset takes: `0,2,3`. */
export function cpuListOf(cpus: readonly number[]): string {
  return cpus.join(',');
}

/** The CPUs a process may run on (`Cpus_allowed_list` of /proc/PID/status); null where it cannot be read. */
export function allowedCpus(pid: number | 'self' = 'self'): number[] | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
    return line?.[1] === undefined ? null : parseCpuList(line[1]);
  } catch {
    return null;
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The server on the first CPU this process may use, the bench on the others; none with
 * fewer than two CPUs, without /proc, or without `taskset`.
 */
function planCpuSplit(): CpuSplitPlan {
  const cpus = allowedCpus();
  if (cpus === null) return { split: null, reason: 'this system has no /proc/self/status to read CPUs from' };
  if (cpus.length < 2) return { split: null, reason: `the bench may use ${cpus.length} CPU, and a split needs two` };
  if (!hasTaskset()) return { split: null, reason: 'taskset (util-linux) is not installed' };
  const [server, ...bench] = cpus as [number, ...number[]];
  return { split: { server: [server], bench } };
}

/** A split taken: the bench is on its CPUs until `restore()` gives it back all it had. */
export type TakenCpuSplit = CpuSplitPlan & { restore(): void };

/**
 * Plans the split and moves the bench (this process, every thread) onto its CPUs. Should
 * the move be refused (a container may refuse sched_setaffinity), there is no split, and
 * that is its reason.
 */
export function takeCpuSplit(): TakenCpuSplit {
  const plan = planCpuSplit();
  const { split } = plan;
  if (!split) return { ...plan, restore: () => undefined };
  try {
    pinProcess(process.pid, split.bench);
  } catch (error) {
    const reason = `taskset could not move the bench: ${(error as Error).message.split('\n')[0]}`;
    return { split: null, reason, restore: () => undefined };
  }
  // The split is of the CPUs the bench had, first for the server and the rest for itself.
  return { split, restore: () => pinProcess(process.pid, [...split.server, ...split.bench]) };
}

/** Moves every thread of process `pid` onto `cpus`. */
function pinProcess(pid: number, cpus: readonly number[]): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpuListOf(cpus), String(pid)], { stdio: 'ignore' });
}

/** `command args` as a spawn of taskset that runs it on `cpus` (taskset execs it: the pid is the command's). */
export function onCpus(cpus: readonly number[], command: string, args: readonly string[]): [string, string[]] {
  return ['taskset', ['--cpu-list', cpuListOf(cpus), command, ...args]];
}
