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
    await writeFile(join(dir, name, 'index.html'), `<!doctype html><title>${marker}</title>`);
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
