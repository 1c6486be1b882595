/**
 * The server under test, in a process of its own, so that its CPU time and memory are its
 * own and not the bench's. Figures come from Linux's /proc: `stat` for CPU time (user +
 * system), `status` for the resident set (VmRSS now, VmHWM the peak since start).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { LONG_POLL_TIMEOUT_MS } from '../server/contract/defaults.js';
import { compiledScript } from './compiled.ts';
import { onCpus } from './cpu-split.ts';
import type { IdleMemory } from './result.ts';

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

/**
 * A server's memory once its garbage is collected: what it holds, not what it has yet to
 * free. Read right after connections opened, the resident set is mostly the garbage of
 * opening them and V8's young generation grown for it: for `ws` alone, 11 kB "per
 * connection" 4 s after a thousand opened, 4.7 kB after a full collection (docs/peers.md).
 */
export interface SettledMemory {
  /** VmRSS after the collection. */
  rssBytes: number;
  /**
   * V8's heap in use plus the memory outside it that JavaScript objects own (Buffers):
   * `process.memoryUsage()`'s heapUsed + external, less the compiled code in them
   * (`codeBytes`).
   */
  heldBytes: number;
  /**
   * Compiled code, bytecode and their metadata (`v8.getHeapCodeStatistics()`'s
   * code_and_metadata_size + bytecode_and_metadata_size). Left out of `heldBytes`: V8
   * compiles a server's hot functions while its connections open, once for all of them
   * and on its own schedule (for realtime-lab's WebSocket, 30 to 90 bytes "per connection"
   * at 1,000 even after a first round; 30 to 40 for ws), which is not what a connection holds.
   */
  codeBytes: number;
}

export interface ServerProcess {
  baseUrl: string;
  pid: number;
  /** Null where /proc cannot be read (not Linux). */
  figures(): ProcessFigures | null;
  /**
   * Collects the server's garbage (two full collections, through its inspector) and reads
   * its memory; null unless it was started with `{ inspectable: true }`, or where /proc
   * cannot be read.
   */
  settledMemory(): Promise<SettledMemory | null>;
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /**
   * Starts it with its inspector on a random loopback port, for settledMemory: a server of
   * the bench only, which nobody else can reach, and with no session attached in between.
   */
  inspectable?: boolean;
  /** Runs it on these CPUs only (cpu-split.ts); anywhere when absent. */
  cpus?: readonly number[];
  /**
   * Runs its program compiled to JavaScript (compiled.ts), with no TypeScript loader in
   * the process, where it is measured beside another program; through tsx when absent,
   * as `npm start` runs it.
   */
  compiled?: boolean;
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
  { inspectable = false, cpus, compiled = false }: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const inspect = inspectable ? ['--inspect=127.0.0.1:0'] : [];
  const program = compiled ? [await compiledScript(script)] : ['--import', 'tsx', script];
  const node = [...inspect, ...program];
  const [command, args] = cpus ? onCpus(cpus, process.execPath, node) : [process.execPath, node];
  const child: ChildProcess = spawn(command, args, {
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
    settledMemory: async () => {
      // Node prints where its inspector listens on stderr, before the program runs.
      const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
      if (!inspector) return null;
      const answers = await inspectorCalls(inspector, [
        { method: 'HeapProfiler.collectGarbage' },
        { method: 'HeapProfiler.collectGarbage' },
        {
          method: 'Runtime.evaluate',
          params: { expression: SETTLED_FIGURES, returnByValue: true },
        },
      ]);
      const figures = (answers[2] as { result?: { value?: Partial<Record<string, number>> } }).result?.value;
      const rssBytes = procFigures(pid)?.rssBytes;
      const { heapUsed, external, code_and_metadata_size: code, bytecode_and_metadata_size: bytecode } = figures ?? {};
      if (
        rssBytes === undefined ||
        heapUsed === undefined ||
        external === undefined ||
        code === undefined ||
        bytecode === undefined
      )
        return null;
      const codeBytes = code + bytecode;
      return { rssBytes, heldBytes: heapUsed + external - codeBytes, codeBytes };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 6000).unref();
      }),
  };
}

/** What settledMemory reads in the server, through its inspector: its memory, and its compiled code's. */
const SETTLED_FIGURES =
  "({ ...process.memoryUsage(), ...process.getBuiltinModule('node:v8').getHeapCodeStatistics() })";

/** Memory per idle connection from two settled readings, before `clients` connections and with them. */
export function idleMemory(before: SettledMemory, connected: SettledMemory, clients: number): IdleMemory {
  return {
    clients,
    codeBeforeBytes: before.codeBytes,
    codeConnectedBytes: connected.codeBytes,
    heldBeforeBytes: before.heldBytes,
    heldConnectedBytes: connected.heldBytes,
    perConnectionBytes: Math.round((connected.heldBytes - before.heldBytes) / clients),
    rssBeforeBytes: before.rssBytes,
    rssConnectedBytes: connected.rssBytes,
    rssPerConnectionBytes: Math.round((connected.rssBytes - before.rssBytes) / clients),
  };
}

/** Sends `calls` in turn over the inspector's WebSocket at `url`; resolves with their results. */
async function inspectorCalls(url: string, calls: { method: string; params?: object }[]): Promise<unknown[]> {
  const socket = new WebSocket(url);
  try {
    await once(socket, 'open');
    const results: unknown[] = [];
    for (const [index, call] of calls.entries()) {
      socket.send(JSON.stringify({ id: index + 1, ...call }));
      results.push(
        await new Promise((resolve, reject) => {
          const onMessage = (data: WebSocket.RawData) => {
            const answer = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
            if (answer.id !== index + 1) return;
            socket.off('message', onMessage);
            if (answer.error) reject(new Error(`${call.method}: ${answer.error.message}`));
            else resolve(answer.result);
          };
          socket.on('message', onMessage);
        }),
      );
    }
    return results;
  } finally {
    socket.close();
  }
}
