/**
 * The bench's server programs as JavaScript, for the runs that set realtime-lab beside
 * another program (`--peers`, `--crowd`): each server then runs as one deployed would,
 * `node main.js`, with no TypeScript loader in its process.
 *
 * Why: `node --import tsx` runs tsx's module hooks on a thread of their own (Node 20's
 * `module.register`), with a V8 heap of its own. V8's memory reducer collects that heap
 * once, 8 s after the process starts, or 16 s after when the process was busy at 8: three
 * collections, ~44 ms of CPU, pauses up to 12.9 ms. On a server pinned to one CPU that
 * thread takes its turns from the one answering. Measured in the WebSocket row of
 * `--peers` (2026-12-03, `--trace-gc`, two rounds): it fell inside realtime-lab's
 * delivery (12.9 to 17.9 s after start) in both rounds and before ws's (9.3 to 14.3 s),
 * ~4.4 µs a delivered message of a gap of 8 to 13 (docs/peers.md). Which row it hits
 * depends on how long a server takes to start, not on the server.
 *
 * TypeScript's own compiler (`tsc`, in a process of its own) emits the files, without
 * type-checking them (`npm test` does that), in about 3 s; relative `.ts` imports become `.js`
 * (`rewriteRelativeImportExtensions`). Packages resolve from the project's node_modules,
 * above the output. What the server reads at run time beside its code (the pages, the
 * results, the contract's browser modules) is linked into the output where the server
 * looks for it.
 */
import { existsSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** TypeScript's own command line, from the project's devDependency. */
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Under node_modules: ignored by git, and where bare imports resolve from. */
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'realtime-lab', 'compiled-servers');
/** One output per bench process (test files run side by side), removed when it exits. */
const OUT_DIR = join(CACHE_DIR, String(process.pid));

/** The folders whose programs are compiled: the server, the peers, the bare broadcast server. */
const SOURCE_DIRS = ['server', 'bench/peers/servers', 'bench/bare'];
/**
 * Read at run time relative to the server's own files, and not code to compile: linked.
 * The pages and the results (app.ts, results.ts); the contract's modules, JavaScript
 * already, served to browsers as they are; docs/scale-out.md, whose nginx configuration
 * the server's INTERMEDIARY=nginx reads (bench/network/nginx.ts).
 */
const LINKED = ['pages', 'results', 'server/contract', 'docs'];

let compiling: Promise<void> | undefined;

/**
 * The JavaScript of `script` (a path like `server/main.ts`), compiled once per bench
 * process. A failed compilation fails every later call alike: the sources are the same.
 */
export async function compiledScript(script: string): Promise<string> {
  compiling ??= compile();
  await compiling;
  const compiled = join(OUT_DIR, script.replace(/\.ts$/, '.js'));
  if (!existsSync(compiled)) {
    throw new Error(`${script} is not among the compiled servers: a .ts file under ${SOURCE_DIRS.join(', ')}`);
  }
  return compiled;
}

async function compile(): Promise<void> {
  await removeOrphans();
  // Another process with this pid may have left its output (killed before its exit).
  await rm(OUT_DIR, { recursive: true, force: true });
  process.once('exit', () => {
    try {
      rmSync(OUT_DIR, { recursive: true, force: true });
    } catch {
      // Left for the next run's removeOrphans.
    }
  });
  await mkdir(OUT_DIR, { recursive: true });
  // tsc in a process of its own: TypeScript's compiler keeps ~135 MB of heap once it has
  // run (heapUsed 7 MB before, 135 MB after a full collection), which the bench's
  // process, reading thousands of sockets, has no use for.
  const config = join(OUT_DIR, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: false,
        noCheck: true,
        outDir: OUT_DIR,
        rootDir: ROOT,
        rewriteRelativeImportExtensions: true,
        // The contract's JavaScript is linked, not emitted again.
        allowJs: false,
        checkJs: false,
        declaration: false,
        sourceMap: false,
        incremental: false,
      },
      include: SOURCE_DIRS.map((dir) => join(ROOT, dir, '**', '*.ts')),
      exclude: [join(ROOT, '**', '*.test.ts')],
    }),
  );
  try {
    await run(process.execPath, [TSC, '--project', config], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    // tsc's own report is on its stdout; the message has the exit code or the signal.
    const { stdout = '', stderr = '', message } = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`compiling the bench's servers failed (${message.split('\n')[0]}):\n${stdout}${stderr}`);
  }
  for (const path of LINKED) {
    // Into a fresh output: tsc emits nothing under these (no .ts file of theirs is included).
    const link = join(OUT_DIR, path);
    await mkdir(join(link, '..'), { recursive: true });
    await symlink(join(ROOT, path), link, 'dir');
  }
}

/** Outputs left by bench processes that ended without removing theirs (killed). */
async function removeOrphans(): Promise<void> {
  const names = await readdir(CACHE_DIR).catch(() => [] as string[]);
  for (const name of names)
    if (!isRunning(Number(name))) await rm(join(CACHE_DIR, name), { recursive: true, force: true });
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: running, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
