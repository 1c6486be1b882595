import { launchChromium } from '../bench/browser/chromium.ts';
/**
 * Adding a technique is its own files and one registry line, and nothing else: proved on a
 * copy of this repository. The test adds `sse-copy`, a copy of SSE under another id, the
 * way docs/architecture.md says to add a technique (its server file, its page client and
 * page, its bench driver and model, one line in the registry), touches no other file, and
 * then finds the new technique everywhere the lab lists techniques:
 *   - it type-checks (tsc, server and pages);
 *   - the server serves it: `/api/stats` counts it, and `/api/sse-copy` streams the feed;
 *   - the side-by-side page shows its panel, which receives a message, and every
 *     technique page's nav links its page (in Chromium);
 *   - the bench runs it, and its request and byte models agree with what it measured;
 *   - the test matrix covers it: conformance tests named after it run and pass.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { freePort } from '../bench/redis-process.ts';
import { until } from './support.ts';
import { CHROMIUM, needs } from './tools.ts';
import { takeHeavySlot } from './heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const NEW_ID = 'sse-copy';

/** The files a technique is made of, by the convention the registry's header states. */
const TECHNIQUE_FILES = (id: string) => [
  `server/transports/${id}.ts`,
  `bench/drivers/${id}.ts`,
  `pages/clients/${id}.js`,
  `pages/techniques/${id}.html`,
];
const REGISTRY = 'server/contract/techniques.js';

let copy = '';
let server: ChildProcess | undefined;
let baseUrl = '';

/** Copies the repository's files (as git lists them, committed or not) and links its node_modules. */
async function copyRepository(): Promise<string> {
  const target = await mkdtemp(join(tmpdir(), 'realtime-lab-new-technique-'));
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: REPO,
    maxBuffer: 16 * 1024 * 1024,
  });
  const files = stdout
    .split('\0')
    .filter((file) => file && !file.startsWith('results/') && existsSync(join(REPO, file)));
  for (const file of files) {
    await mkdir(dirname(join(target, file)), { recursive: true });
    await cp(join(REPO, file), join(target, file));
  }
  await symlink(join(REPO, 'node_modules'), join(target, 'node_modules'));
  return target;
}

/** Adds `sse-copy`: SSE's files under the new name, and one line in the registry. */
async function addTechnique(root: string): Promise<string[]> {
  const touched: string[] = [];
  const targets = TECHNIQUE_FILES(NEW_ID);
  for (const [index, from] of TECHNIQUE_FILES('sse').entries()) {
    const to = targets[index] as string;
    await cp(join(root, from), join(root, to));
    touched.push(to);
  }
  const registry = await readFile(join(root, REGISTRY), 'utf8');
  const lines = registry.split('\n');
  const sseLine = lines.findIndex((line) => line.includes("id: 'sse'"));
  assert.ok(sseLine >= 0, `the registry has a line for sse: ${REGISTRY}`);
  const newLine = (lines[sseLine] as string)
    .replace("id: 'sse'", `id: '${NEW_ID}'`)
    .replace(/title: '[^']*'/, "title: 'SSE (copy)'")
    .replace(/colour: '[^']*'/, "colour: '#16a085'");
  lines.splice(sseLine + 1, 0, newLine);
  await writeFile(join(root, REGISTRY), lines.join('\n'));
  touched.push(REGISTRY);
  return touched;
}

before(async () => {
  copy = await copyRepository();
  const touched = await addTechnique(copy);
  assert.equal(touched.length, TECHNIQUE_FILES(NEW_ID).length + 1);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: copy,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr?.on('data', (chunk) => (stderr += chunk));
  let up = false;
  const poll = setInterval(() => {
    fetch(`${baseUrl}/api/health`).then(
      (response) => (up = response.ok),
      () => undefined,
    );
  }, 100);
  try {
    await until(() => up || server?.exitCode !== null, "the copy's server to start", 20_000);
  } finally {
    clearInterval(poll);
  }
  assert.ok(up, `the copy's server did not start: ${stderr}`);
});

after(async () => {
  server?.kill();
  if (copy) await rm(copy, { recursive: true, force: true });
});

test(`${NEW_ID} type-checks with nothing but its files and its registry line`, async () => {
  await run(process.execPath, [join(copy, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: copy });
  await run(process.execPath, [join(copy, 'node_modules/typescript/bin/tsc'), '-p', 'pages'], { cwd: copy });
});

test(`${NEW_ID} is served: counted in /api/stats, and its endpoint streams the feed`, async () => {
  const stats = (await (await fetch(`${baseUrl}/api/stats`)).json()) as { techniques: Record<string, unknown> };
  assert.ok(NEW_ID in stats.techniques, `/api/stats has ${NEW_ID}: ${Object.keys(stats.techniques).join(', ')}`);
  const published = await fetch(`${baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'new', text: 'hello from the copy' }),
  });
  assert.equal(published.status, 201);
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/api/${NEW_ID}?since=0`, { signal: abort.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  let text = '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  while (!text.includes('hello from the copy')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  abort.abort();
  assert.match(text, /data: \{"id":1,.*"hello from the copy"\}/);
});

test(
  `${NEW_ID} has its panel on the side-by-side page, and its page in every technique page's nav`,
  needs(CHROMIUM),
  async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${baseUrl}/`);
      const panel = page.locator(`[data-technique="${NEW_ID}"]`);
      await panel.waitFor({ timeout: 10_000 });
      await panel.locator('[data-role="state"]', { hasText: 'OPEN' }).waitFor({ timeout: 10_000 });
      await fetch(`${baseUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'new', text: 'seen in the panel' }),
      });
      await panel.locator('[data-role="messages"] li', { hasText: 'seen in the panel' }).waitFor({ timeout: 10_000 });
      for (const id of ['sse', 'websocket', NEW_ID]) {
        await page.goto(`${baseUrl}/techniques/${id}.html`);
        const links = await page
          .locator('nav a')
          .evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href')));
        if (id !== NEW_ID)
          assert.ok(
            links.includes(`/techniques/${NEW_ID}.html`),
            `${id}.html's nav links ${NEW_ID}: ${links.join(' ')}`,
          );
        else
          assert.ok(
            links.includes('/techniques/sse.html'),
            `${NEW_ID}.html's nav links the others: ${links.join(' ')}`,
          );
      }
    } finally {
      await browser.close();
    }
  },
);

test(`${NEW_ID} is run by the bench, which measures it and checks its model`, async () => {
  const out = join(copy, 'results', 'new-technique');
  await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/cli.ts',
      '--techniques',
      NEW_ID,
      '--clients',
      '2',
      '--rate',
      '10',
      '--duration',
      '1',
      '--out',
      out,
    ],
    { cwd: copy, timeout: 120_000 },
  );
  const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
    techniques: {
      technique: string;
      messagesExpected: number;
      messagesDelivered: number;
      lost: number;
      theory: { metric: string; agrees: boolean }[];
    }[];
  };
  const row = results.techniques.find((entry) => entry.technique === NEW_ID);
  assert.ok(row, `results.json has ${NEW_ID}`);
  assert.ok(row.messagesExpected > 0);
  assert.equal(row.messagesDelivered, row.messagesExpected);
  assert.equal(row.lost, 0);
  assert.ok(row.theory.length > 0, 'its model made predictions');
  // Its count and byte models: those hold on any machine. Its delay models (the mean delay,
  // the time to first message) are the bench's to judge, on a quiet machine, not a test's.
  const DELAYS = ['meanLatencyMs', 'firstMessageMs'];
  const exact = row.theory.filter((check) => !DELAYS.includes(check.metric));
  assert.ok(exact.length > 0, 'its model predicted its requests or bytes');
  for (const check of exact) assert.ok(check.agrees, `the model's ${check.metric} agrees with the measurement`);
});

test(`${NEW_ID} is in the test matrix: the conformance suite runs for it as for SSE, and passes`, async () => {
  // The whole file: Node 20's --test-name-pattern matches tests, not the suites named after
  // a technique.
  // Without NODE_TEST_CONTEXT: a runner that finds it set (as in this test's own process)
  // reports to its parent in node's internal format rather than in TAP.
  const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'server/conformance.test.ts'],
    {
      cwd: copy,
      // The copy and its original only: the rest of the matrix runs in the suite itself.
      env: { ...env, CONFORMANCE_TECHNIQUES: `sse,${NEW_ID}` },
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const topLevel = suitesOf(stdout);
  const ofNew = topLevel.filter(({ name }) => name.includes(NEW_ID));
  const ofSse = topLevel.filter(({ name }) => name.includes('sse') && !name.includes(NEW_ID));
  assert.ok(
    ofNew.length > 0 && ofNew.length === ofSse.length,
    `as many ${NEW_ID} suites as sse ones: ${ofNew.map(({ name }) => name).join('; ')}\n${stdout.slice(-1500)}`,
  );
  for (const suite of ofNew) {
    assert.ok(suite.ok, `${suite.name} passed`);
    const twin = ofSse.find(({ name }) => name === suite.name.replace(NEW_ID, 'sse'));
    assert.equal(suite.tests, twin?.tests, `${suite.name} ran as many tests as its sse twin`);
  }
  assert.match(stdout, /# fail 0/);
});

/** The top-level tests and suites of a TAP report: name, whether it passed, and how many tests ran in it. */
function suitesOf(tap: string): { name: string; ok: boolean; tests: number }[] {
  const suites: { name: string; ok: boolean; tests: number }[] = [];
  let inside = 0;
  for (const line of tap.split('\n')) {
    const top = /^(not )?ok \d+ - (.*)$/.exec(line);
    if (top) {
      suites.push({ name: top[2] ?? '', ok: !top[1], tests: inside });
      inside = 0;
    } else if (/^ {4}(not )?ok \d+ - /.test(line) && !line.includes('# SKIP')) {
      inside += 1;
    }
  }
  return suites;
}
