/**
 * Debian's nginx in front of one server, configured as docs/scale-out.md says (the very
 * block the multi-node test runs), with one upstream instead of two; optionally with
 * `proxy_buffering on`, nginx's default, which the page's block turns off, and optionally
 * told to ignore the `X-Accel-Buffering` header the streams send (to show what it does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../redis-process.ts';
import type { Listen } from './listen.ts';

/** Where nginx is: `NGINX_PATH`, else Debian's. */
export const NGINX_BIN =
  process.env.NGINX_PATH || (['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path)) ?? 'nginx');

export interface NginxOptions {
  /** `proxy_buffering on` (nginx's own default) instead of the page's `off`. */
  buffering: boolean;
  /** `proxy_ignore_headers X-Accel-Buffering`: nginx buffers even responses that ask it not to. */
  ignoreAccelBuffering?: boolean;
  /** Where nginx listens: a free loopback port unless given. */
  listen?: Listen;
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** Why nginx cannot run here, or false when it can. */
export function nginxMissing(): string | false {
  return (
    !existsSync(NGINX_BIN) && `nginx not found at ${NGINX_BIN} (apt-get install -y nginx-light, or set NGINX_PATH)`
  );
}

/** Starts nginx in front of `target` (`host:port`); resolves once it answers /api/health through it. */
export async function startNginx(target: string, options: NginxOptions): Promise<Nginx> {
  const missing = nginxMissing();
  if (missing) throw new Error(missing);
  const page = await readFile(fileURLToPath(new URL('../../docs/scale-out.md', import.meta.url)), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(page)?.[1];
  if (!block) throw new Error('docs/scale-out.md has no nginx block');
  const host = options.listen?.host ?? '127.0.0.1';
  const port = options.listen?.port || (await freePort());
  const bracketed = host.includes(':') ? `[${host}]` : host;
  let upstreams = 0;
  let config = block
    .replace(/listen \d+;/, `listen ${bracketed}:${port};`)
    // The page's two nodes become the one server under test.
    .replace(/^(\s*)server 127\.0\.0\.1:\d+;\n/gm, (_line, indent: string) =>
      upstreams++ === 0 ? `${indent}server ${target};\n` : '',
    );
  if (options.buffering) config = config.replace(/proxy_buffering off;/, 'proxy_buffering on;');
  if (options.ignoreAccelBuffering)
    config = config.replace(/proxy_buffering (on|off);/, '$& proxy_ignore_headers X-Accel-Buffering;');
  if (upstreams === 0 || !/proxy_buffering (on|off);/.test(config))
    throw new Error('the nginx block of docs/scale-out.md no longer has the upstream or proxy_buffering line');

  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-nginx-'));
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((n) => `${n}_temp_path ${dir}/${n};`)
    .join(' ');
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;\nevents { worker_connections 4096; }\nhttp { access_log off; ${temps}\n${config}\n}\n`,
  );
  const child = spawn(NGINX_BIN, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    await ended(child);
    await rm(dir, { recursive: true, force: true });
  };
  // The bench may exit without its finally blocks (Ctrl-C): nginx must not outlive it.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : bracketed}:${port}`;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && child.exitCode === null) {
    const up = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up)
      return {
        url,
        stop: async () => {
          process.off('exit', onExit);
          await stop();
        },
      };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.off('exit', onExit);
  await stop();
  throw new Error(`nginx did not start: ${stderr.trim() || 'no answer on /api/health'}`);
}

async function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
