/**
 * The server under test, in a process of its own, so that its CPU time and memory are its
 * own and not the bench's. Figures come from Linux's /proc: `stat` for CPU time (user +
 * system), `status` for the resident set (VmRSS now, VmHWM the peak since start).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LONG_POLL_TIMEOUT_MS } from '../server/contract/defaults.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Servers this process started and has not stopped: ended if the bench itself ends. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
const START_TIMEOUT_MS = 20_000;

export interface ProcessFigures {
  cpuMs: number;
  rssBytes: number;
  maxRssBytes: number;
}

export interface ServerProcess {
  baseUrl: string;
  pid: number;
  /** Null where /proc cannot be read (not Linux). */
  figures(): ProcessFigures | null;
  stop(): Promise<void>;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Reads a process's CPU time and memory from /proc; null if that is not possible. */
export function procFigures(pid: number): ProcessFigures | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuMs: (ticks * 1000) / ticksPerSecond(), rssBytes: kib('VmRSS'), maxRssBytes: kib('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Starts `server/main.ts` (or `script`, another server that prints the same `serving URL/`
 * line, such as a peer of bench/peers/servers/ or the bare broadcast server of
 * bench/bare/main.ts) on a free loopback port with `env` added to its environment.
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  script = 'server/main.ts',
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    // The bench measures delivery, not the publish rate limits: both are off in its
    // servers (the publisher and every subscriber are 127.0.0.1).
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PUBLISH_RATE_PER_CLIENT: '0',
      PUBLISH_RATE_PER_ADDRESS: '0',
      // The contract's hold, whatever the environment says: the bench's long polls name no
      // `timeout`, and its models are of this one.
      LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving (https?:\/\/[^/\s]+)\//.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with code ${code} before serving:\n${output}`));
    });
  });
  const pid = child.pid as number;
  return {
    baseUrl,
    pid,
    figures: () => procFigures(pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 6000).unref();
      }),
  };
}
