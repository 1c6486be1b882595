/**
 * The tools some tests need and this machine may lack, each found one way and missing for
 * one stated reason, and `needs()`, which turns a missing tool into a skip the run counts.
 *
 * A missing tool must never shrink a run quietly: every test that needs it is still
 * declared, skipped with the reason (see `test/suite.ts` for suites), and counted in the
 * run's `skipped`, which `test/skip-summary.ts` sums up by reason at the end. Under
 * CI=true a missing tool fails the run instead: `.ci/run` installs every tool, so one
 * missing there is a broken install step, which a skip would hide.
 */
import { chromiumPath as chromiumPathFound } from '../bench/browser/chromium.ts';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { REDIS_SERVER_BIN, redisMissing } from '../bench/redis-process.ts';

/** A program some tests run. */
export interface Tool {
  /** What it is called in messages. */
  readonly name: string;
  /** The path or command to run it by. */
  readonly path: string;
  /** Why it cannot run here, with how to get it; false when it can. */
  readonly missing: string | false;
}

/** Test options: skipped with the reason when a tool is missing, empty otherwise. */
export interface ToolOptions {
  skip?: string;
}

/** The first of `candidates` that exists, else the first; `override` (an env var) wins. */
function locate(override: string | undefined, candidates: string[]): string {
  if (override) return override;
  return candidates.find((path) => existsSync(path)) ?? (candidates[0] as string);
}

/** Whether `command --version` runs and exits 0 (found on the PATH or at its path). */
function answersVersion(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Debian's redis-server, or `REDIS_SERVER`: the private Redis of the Redis feed's tests. */
export const REDIS: Tool = { name: 'redis-server', path: REDIS_SERVER_BIN, missing: redisMissing() };

const chromiumPath = chromiumPathFound();
/** Debian's Chromium, or `CHROMIUM_PATH`: the browser the page tests drive. */
export const CHROMIUM: Tool = {
  name: 'Chromium',
  path: chromiumPath,
  missing:
    !existsSync(chromiumPath) &&
    `Chromium not found at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
};

const nginxPath = locate(process.env.NGINX_PATH, ['/usr/sbin/nginx', '/usr/bin/nginx']);
/** Debian's nginx, or `NGINX_PATH`: the proxy of docs/scale-out.md's deployment, run for real. */
export const NGINX: Tool = {
  name: 'nginx',
  path: nginxPath,
  missing:
    !existsSync(nginxPath) && `nginx not found at ${nginxPath} (apt-get install -y nginx-light, or set NGINX_PATH)`,
};

const prlimitPath = process.env.PRLIMIT_PATH || 'prlimit';
/** util-linux's prlimit, or `PRLIMIT_PATH`: lowers a server process's descriptor limit. */
export const PRLIMIT: Tool = {
  name: 'prlimit',
  path: prlimitPath,
  missing:
    !answersVersion(prlimitPath) && `${prlimitPath} not found (apt-get install -y util-linux, or set PRLIMIT_PATH)`,
};

/** The tools already said missing in this file: each is said, and under CI failed, once. */
const announced = new Set<string>();

/**
 * Options for a test or a suite (`describe` from `test/suite.ts`) that needs `tools`:
 * `{ skip: reason }` when one is missing, `{}` when all are here. The first time a file
 * finds a tool missing, it says so on stderr, and under CI=true it also declares a failing
 * test that names the tool, so the run fails instead of passing with less.
 */
export function needs(...tools: Tool[]): ToolOptions {
  const missing = tools.map((tool) => tool.missing).filter((reason): reason is string => reason !== false);
  for (const reason of missing) {
    if (announced.has(reason)) continue;
    announced.add(reason);
    process.stderr.write(`\n*** ${reason}: the tests that need it are SKIPPED. ***\n`);
    if (process.env.CI === 'true') {
      test(`a tool the tests need is installed (CI=true): ${reason}`, () => {
        throw new Error(`${reason}, and under CI=true a missing tool fails the run`);
      });
    }
  }
  return missing.length > 0 ? { skip: missing.join('; ') } : {};
}
