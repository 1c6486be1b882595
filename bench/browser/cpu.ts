/**
 * The CPU time of the Chromium the bench launched: every process under the bench's own
 * whose name says Chromium (the browser, its zygotes, one renderer per page, the network
 * service), from /proc. Linux only; elsewhere null.
 *
 * A renderer that exits (its page closed) leaves /proc, but its time goes into its
 * parent's cutime/cstime once reaped, so adding up each live process's own and reaped
 * children's time counts every process once, dead or alive.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  name: string;
  /** utime + stime + cutime + cstime, ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The name is in parentheses and may hold spaces: the fields follow its last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return {
    pid,
    ppid: field(4),
    name: text.slice(open + 1, close),
    ticks: field(14) + field(15) + field(16) + field(17),
  };
}

/** CPU time, ms, of the Chromium processes under `rootPid` (this process by default); null off Linux. */
export function chromiumCpuMs(rootPid = process.pid): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const stats = entries
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readStat(Number(entry)))
    .filter((stat): stat is ProcStat => stat !== null);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  let ticks = 0;
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (/chrom/i.test(child.name)) ticks += child.ticks;
      walk(child.pid);
    }
  };
  walk(rootPid);
  return (ticks * 1000) / TICKS_PER_SECOND;
}
