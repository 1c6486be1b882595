import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../test/support.ts';

async function resultsDir(t: import('node:test').TestContext, runs: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-results-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, marker] of Object.entries(runs)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'results.json'), JSON.stringify({ marker }));
    await writeFile(join(dir, name, 'index.html'), `<!doctype html><title>${marker}</title><body><h1>${marker}</h1>`);
  }
  return dir;
}

test('/results/ says how to make a run when there is none', async (t) => {
  const server = await startServer(t, { resultsDir: await resultsDir(t, {}) });
  const page = await fetch(`${server.url}/results/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /npm run bench/);
  const json = await fetch(`${server.url}/results/results.json`);
  assert.equal(json.status, 404);
  assert.match(((await json.json()) as { message: string }).message, /no bench run yet/);
});

test('/results/ shows the reference run, and a local latest run before it', async (t) => {
  const onlyReference = await startServer(t, { resultsDir: await resultsDir(t, { reference: 'reference' }) });
  assert.match(await (await fetch(`${onlyReference.url}/results/`)).text(), /<title>reference</);
  const both = await startServer(t, { resultsDir: await resultsDir(t, { reference: 'reference', latest: 'latest' }) });
  assert.match(await (await fetch(`${both.url}/results/`)).text(), /<title>latest</);
  const json = await fetch(`${both.url}/results/results.json`);
  assert.equal(json.status, 200);
  assert.match(json.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await json.json(), { marker: 'latest' });
});

test('/results/ serves only the files a run writes, nothing outside its folder', async (t) => {
  const server = await startServer(t, { resultsDir: await resultsDir(t, { latest: 'latest' }) });
  for (const path of [
    '/results/..%2F..%2Fpackage.json',
    '/results/.env',
    '/results/missing.png',
    '/results/server.ts',
  ]) {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 404, path);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/, path);
  }
});

test('/results/ says plainly when it shows the committed reference run, and when and where it ran', async (t) => {
  const dir = await resultsDir(t, { reference: 'reference' });
  const environment = { startedAt: '2026-12-01T23:50:29.645Z', cpus: 2, cpuModel: 'Some CPU', node: 'v20.20.2' };
  await writeFile(join(dir, 'reference', 'results.json'), JSON.stringify({ environment }));
  const onlyReference = await startServer(t, { resultsDir: dir });
  const page = await (await fetch(`${onlyReference.url}/results/`)).text();
  assert.match(page, /<body>\n<p class="reference-note"[^>]*>.*committed reference run.*not yours.*npm run bench/s);
  assert.match(page, /2026-12-01 23:50 UTC \(2 × Some CPU, Node v20\.20\.2\)/);
  assert.match(page, /<h1>reference<\/h1>/, 'the page itself follows the notice');
  // The reader's own run is shown as it is.
  const own = await startServer(t, { resultsDir: await resultsDir(t, { reference: 'reference', latest: 'latest' }) });
  assert.doesNotMatch(await (await fetch(`${own.url}/results/`)).text(), /reference-note|committed reference/);
});
