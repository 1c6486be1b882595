/**
 * A private `redis-server` for the tests and the bench: Debian's binary on a free port of
 * 127.0.0.1, its files in a temporary directory, stopped by its own pid.
 *
 * It writes an append-only file, so a stop (SIGTERM) and a start on the same directory
 * and port brings back the same feed: that is how the tests take Redis away mid-run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The binary: `REDIS_SERVER` when set, else `redis-server` on the PATH. */
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER || 'redis-server';

const NOT_FOUND = `${REDIS_SERVER_BIN} not found: install Debian's redis-server (apt-get install redis-server), or set REDIS_SERVER to its path`;

/** Why no private redis-server can start here (the binary is missing), or false when one can. */
export function redisMissing(): string | false {
  const probe = spawnSync(REDIS_SERVER_BIN, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? false : NOT_FOUND;
}

export interface RedisProcess {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The running server's pid, undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM: it writes its files and exits) and waits for it. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory, with the data it had. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** Starts a private redis-server; rejects with a hint when the binary is missing. */
export async function startRedis(): Promise<RedisProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) return;
    const process_ = spawn(
      REDIS_SERVER_BIN,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    process_.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const failed = new Promise<never>((_, reject) => {
      process_.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new Error(NOT_FOUND) : error),
      );
      process_.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code} before it answered: ${stderr.trim()}`)),
      );
    });
    await Promise.race([answers(port), failed]);
    process_.removeAllListeners('exit');
    child = process_;
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A port nobody listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something answers PING with +PONG on `port`; tries for 5 s. */
async function answers(port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(500, () => socket.destroy());
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
