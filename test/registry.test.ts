/**
 * The registry is the only list of techniques, so every part of the lab finds a technique's
 * code by its id (see `server/contract/techniques.js`). This file holds each registered
 * technique to that convention: its server file, its page client, its page, its bench
 * driver and a test client for its wire format all exist; and no folder holds a technique
 * file the registry does not name (a stray file is a technique half-removed).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { techniqueIds, techniques } from '../server/contract/techniques.js';
import { loadTransports } from '../server/transports/index.ts';
import { wireClients } from './clients/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const at = (path: string) => `${ROOT}${path}`;

/** The page client's class, as `pages/app.js` imports it: `export class Client` or `export { … as Client }`. */
const EXPORTS_CLIENT = /^export class Client\b|^export \{[^}]*\bas Client\b[^}]*\}/m;
/** What a server file exports: `transport`. */
const EXPORTS_TRANSPORT = /^export (const|let|var) transport\b|^export \{[^}]*\btransport\b[^}]*\}/m;
/** What a bench driver file exports: `driver`. */
const EXPORTS_DRIVER = /^export (const|let|var) driver\b|^export \{[^}]*\bdriver\b[^}]*\}/m;

function readIfExists(path: string): string {
  return existsSync(at(path)) ? readFileSync(at(path), 'utf8') : '';
}

/** The files in `folder` ending with `extension` whose source matches `convention`, by the name before the extension. */
function conventionFiles(folder: string, extension: string, convention?: RegExp): string[] {
  return readdirSync(at(folder))
    .filter((name) => name.endsWith(extension) && !name.endsWith(`.test${extension}`))
    .filter((name) => !convention || convention.test(readFileSync(at(`${folder}/${name}`), 'utf8')))
    .map((name) => name.slice(0, -extension.length));
}

/** What is in `found` that the registry does not name. */
const strays = (found: string[]) => found.filter((id) => !techniqueIds.includes(id));

test('the registry: ids are unique and usable as a path segment and a file name', () => {
  assert.equal(new Set(techniqueIds).size, techniqueIds.length, `duplicate ids: ${techniqueIds.join(', ')}`);
  for (const id of techniqueIds) assert.match(id, /^[a-z][a-z0-9-]*$/, id);
});

for (const technique of techniques) {
  const { id, wire } = technique;
  describe(`${id}: its files, as the registry's convention names them`, () => {
    test(`${id}: server/transports/${id}.ts exports \`transport\``, async () => {
      const [transport] = await loadTransports([technique]);
      assert.equal(transport?.id, id);
      assert.equal(typeof transport?.register, 'function');
    });

    test(`${id}: pages/clients/${id}.js exists`, () => {
      assert.ok(existsSync(at(`pages/clients/${id}.js`)), `write pages/clients/${id}.js`);
    });

    test(`${id}: pages/clients/${id}.js exports \`Client\``, () => {
      assert.ok(
        EXPORTS_CLIENT.test(readIfExists(`pages/clients/${id}.js`)),
        `pages/clients/${id}.js must export class Client`,
      );
    });

    test(`${id}: pages/techniques/${id}.html explains it`, () => {
      assert.ok(existsSync(at(`pages/techniques/${id}.html`)), `write pages/techniques/${id}.html`);
    });

    test(`${id}: bench/drivers/${id}.ts exports \`driver\``, async () => {
      assert.ok(existsSync(at(`bench/drivers/${id}.ts`)), `write bench/drivers/${id}.ts`);
      const module = (await import(`../bench/drivers/${id}.ts`)) as { driver?: unknown };
      assert.equal(typeof module.driver, 'object', `bench/drivers/${id}.ts must export \`driver\``);
      assert.notEqual(module.driver, null);
    });

    test(`${id}: its wire format "${wire}" has a test client, test/clients/${wire}.ts`, () => {
      assert.equal(typeof wireClients[wire], 'function', `add a client for "${wire}" to test/clients/index.ts`);
      assert.ok(existsSync(at(`test/clients/${wire}.ts`)), `write test/clients/${wire}.ts`);
    });
  });
}

describe('no technique file that the registry does not name', () => {
  test('server/transports/: every file exporting `transport`, and every test file, is of a registered technique', () => {
    assert.deepEqual(strays(conventionFiles('server/transports', '.ts', EXPORTS_TRANSPORT)), []);
    const testFiles = readdirSync(at('server/transports')).filter((name) => name.endsWith('.test.ts'));
    assert.deepEqual(strays(testFiles.map((name) => name.slice(0, -'.test.ts'.length))), []);
  });

  test('pages/clients/: every file exporting `Client` is of a registered technique', () => {
    assert.deepEqual(strays(conventionFiles('pages/clients', '.js', EXPORTS_CLIENT)), []);
  });

  test('pages/techniques/: every page is of a registered technique', () => {
    assert.deepEqual(strays(conventionFiles('pages/techniques', '.html')), []);
  });

  test('bench/drivers/: every file exporting `driver` is of a registered technique', () => {
    assert.deepEqual(strays(conventionFiles('bench/drivers', '.ts', EXPORTS_DRIVER)), []);
  });

  test('test/clients/: every client file is of a wire format that has a client', () => {
    const support = ['client', 'index'];
    const formats = conventionFiles('test/clients', '.ts').filter((name) => !support.includes(name));
    assert.deepEqual(formats.sort(), Object.keys(wireClients).sort());
  });
});
