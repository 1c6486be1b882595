/**
 * A missing tool is a counted skip with its reason, summed up at the end of the run, and
 * under CI=true a failure: checked by running fixture files through node's test runner
 * with the very flags of package.json's test script, redis-server made missing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MISSING_REDIS =
  "/nonexistent not found: install Debian's redis-server (apt-get install redis-server), or set REDIS_SERVER to its path";

/** The node arguments of `npm test`: what sits between `node` and the list of test files. */
function testScriptArguments(): string[] {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const script = (packageJson as { scripts: { test: string } }).scripts.test;
  const command = /&& node (.*?) \$\(node test\/files\.mjs\)/.exec(script)?.[1];
  assert.ok(command, `the test script runs node on the found files: ${script}`);
  return command.split(/\s+/);
}

/** Runs node with `args` in the project, `variables` added to its environment. */
async function runNode(
  args: string[],
  variables: Record<string, string>,
): Promise<{ code: number | null; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...variables };
  // Set by the runner in the files it runs: kept, it would make the child report to a parent.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout };
}

interface Run {
  code: number | null;
  stdout: string;
  /** The run's own counts, from the spec reporter's last lines. */
  counts: Record<string, number>;
}

/** Runs `fixture` as `npm test` would, with redis-server missing and CI as given. */
async function runFixture(fixture: string, ci: boolean): Promise<Run> {
  const variables = { REDIS_SERVER: '/nonexistent', CI: ci ? 'true' : '' };
  const { code, stdout } = await runNode([...testScriptArguments(), `test/fixtures/${fixture}`], variables);
  const counts = Object.fromEntries(
    [...stdout.matchAll(/^ℹ (\w+) (\d+)$/gm)].map((match) => [match[1], Number(match[2])]),
  );
  return { code, stdout, counts };
}

/** `text` as a literal inside a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('without CI, every test that needs a missing tool is declared, skipped with the reason, counted, and summed up at the end', async () => {
  const run = await runFixture('needs-redis.ts', false);
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual([run.counts.tests, run.counts.pass, run.counts.fail, run.counts.skipped], [5, 1, 0, 4], run.stdout);
  assert.match(
    run.stdout,
    new RegExp(`﹣ third .*# ${literal(MISSING_REDIS)}`),
    'a test nested in a skipped suite shows the reason',
  );
  assert.ok(run.stdout.trimEnd().endsWith(`4 tests skipped:\n  4 tests: ${MISSING_REDIS}`), run.stdout);
});

test('under CI=true, a missing tool fails the run, and the failure names it', async () => {
  const run = await runFixture('needs-redis.ts', true);
  assert.notEqual(run.code, 0, run.stdout);
  assert.equal(run.counts.fail, 1, run.stdout);
  assert.match(run.stdout, new RegExp(`✖ a tool the tests need is installed \\(CI=true\\): ${literal(MISSING_REDIS)}`));
});

test("a suite skipped with node:test's describe, whose tests Node 20 leaves uncounted, is named in the summary", async () => {
  const run = await runFixture('whole-suite-skipped.ts', false);
  assert.equal(run.counts.tests, 0, 'Node 20 declares none of its tests');
  assert.match(
    run.stdout,
    /a whole suite, its tests uncounted: "a suite skipped whole" in test\/fixtures\/whole-suite-skipped\.ts/,
  );
});

test('each tool pointed by its variable at a path that does not exist is missing, and says which variable finds it', async () => {
  const variables = ['REDIS_SERVER', 'CHROMIUM_PATH', 'NGINX_PATH', 'PRLIMIT_PATH'];
  const script =
    "const t = await import('./test/tools.ts'); console.log(JSON.stringify([t.REDIS, t.CHROMIUM, t.NGINX, t.PRLIMIT]))";
  const pointedAway = Object.fromEntries(variables.map((variable) => [variable, '/nonexistent']));
  const { stdout } = await runNode(['--import', 'tsx', '--input-type=module', '-e', script], pointedAway);
  const tools = JSON.parse(stdout) as { name: string; missing: string | false }[];
  assert.equal(tools.length, variables.length);
  tools.forEach((tool, i) => {
    assert.ok(
      typeof tool.missing === 'string' && tool.missing.includes(variables[i] as string),
      `${tool.name}: ${tool.missing}`,
    );
  });
});
