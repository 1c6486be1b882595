/**
 * The docs cannot drift from the code: every relative link and #anchor in README.md and
 * docs/ resolves; the configuration table is DEFAULT_CONFIG and the variables loadConfig
 * reads; the error-code table is server/errors.ts; the close codes the server sends are
 * CLOSE; and each number in docs/guarantees.md is the constant of test/guarantees.ts that
 * the test proving it imports.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES, type Config, DEFAULT_CONFIG, loadConfig } from '../server/config.ts';
import * as errors from '../server/errors.ts';
import { CLOSE } from '../server/transports/websocket.ts';
import * as guarantees from './guarantees.ts';
import { anchors, linkTargets, tableWithHeader } from './markdown.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = join(ROOT, 'docs');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const docFiles = () =>
  readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
const unquote = (cell: string) => cell.replace(/^`(.*)`$/, '$1');

test('every relative link and #anchor in README.md and docs/ resolves', () => {
  const broken: string[] = [];
  for (const file of ['README.md', ...docFiles()]) {
    for (const target of linkTargets(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURI(path));
      if (!existsSync(resolved)) {
        broken.push(`${file}: ${target} (no ${relative(ROOT, resolved)})`);
      } else if (anchor !== undefined && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${file}: ${target} (no heading #${anchor} in ${relative(ROOT, resolved)})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('the README links to every page of docs/, and architecture.md keeps "Adding a technique"', () => {
  const linked = new Set(linkTargets(read('README.md')).map((target) => target.split('#')[0]));
  assert.deepEqual(
    docFiles().filter((file) => !linked.has(file)),
    [],
    'docs/ pages the README does not link to',
  );
  assert.ok(anchors(read('docs/architecture.md')).has('adding-a-technique'));
});

/** How docs/configuration.md writes a default. */
function documentedDefault(value: Config[keyof Config]): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : `\`${value.join(',')}\``;
  if (value === '') return '(none)';
  return `\`${String(value)}\``;
}

const CONFIG_HEADER = ['variable', 'default', 'unit', 'meaning'];

test('docs/configuration.md lists every variable loadConfig reads, with its default and unit, and no other', () => {
  const rows = tableWithHeader(read('docs/configuration.md'), CONFIG_HEADER).rows;
  const documented = new Map(rows.map(([variable = '', ...rest]) => [unquote(variable), rest]));
  assert.equal(documented.size, rows.length, 'a variable documented twice');

  const expected = new Map(
    (Object.keys(CONFIG_VARIABLES) as (keyof Config)[]).map((key) => [
      CONFIG_VARIABLES[key].variable,
      [documentedDefault(DEFAULT_CONFIG[key]), CONFIG_VARIABLES[key].unit],
    ]),
  );
  const actual = new Map([...documented].map(([variable, [defaultCell, unit]]) => [variable, [defaultCell, unit]]));
  assert.deepEqual(actual, expected);
});

test('CONFIG_VARIABLES names exactly the variables loadConfig reads, each for its own setting', () => {
  const read = new Set<string>();
  const spy = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, name) => {
      if (typeof name === 'string') read.add(name);
      return undefined;
    },
  });
  loadConfig(spy);
  const variables = Object.values(CONFIG_VARIABLES).map((entry) => entry.variable);
  assert.deepEqual([...read].sort(), [...variables].sort());

  // A value for each variable changes its own setting and no other, so the pairing is right.
  const samples: Record<string, string> = {
    HOST: '0.0.0.0',
    FEED: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: 'another-lab',
    ALLOWED_ORIGINS: 'https://a.example',
    ALLOWED_HOSTS: 'lab.example',
    LOG_LEVEL: 'debug',
    WS_PERMESSAGE_DEFLATE: '1',
    TLS: '1',
    TLS_CERT: '/etc/ssl/lab.pem',
    TLS_KEY: '/etc/ssl/lab.key',
  };
  for (const key of Object.keys(CONFIG_VARIABLES) as (keyof Config)[]) {
    const { variable } = CONFIG_VARIABLES[key];
    const fallback = DEFAULT_CONFIG[key];
    const sample = samples[variable] ?? (typeof fallback === 'number' ? String(fallback + 1) : undefined);
    assert.ok(sample !== undefined, `no sample value for ${variable}`);
    const config = loadConfig({ [variable]: sample });
    const changed = (Object.keys(config) as (keyof Config)[]).filter(
      (name) => JSON.stringify(config[name]) !== JSON.stringify(DEFAULT_CONFIG[name]),
    );
    assert.deepEqual(changed, [key], `${variable}=${sample}`);
  }
});

/** Every error constructor of server/errors.ts, as code → status. */
function errorCodes(): Map<string, number> {
  const codes = new Map<string, number>();
  for (const [name, value] of Object.entries(errors)) {
    // The error classes; the helpers beside them (isRetryLater) are not errors.
    if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
    const error = new (value as new () => { code: string; statusCode: number })();
    const known = codes.get(error.code);
    assert.ok(known === undefined || known === error.statusCode, `${error.code} (${name}) is used with two statuses`);
    codes.set(error.code, error.statusCode);
  }
  return codes;
}

test('docs/errors.md lists every error code of server/errors.ts with its status, and no other', () => {
  const rows = tableWithHeader(read('docs/errors.md'), ['code', 'status', 'when']).rows;
  const documented = new Map(rows.map(([code = '', status = '']) => [unquote(code), Number(status)]));
  assert.equal(documented.size, rows.length, 'a code documented twice');
  assert.deepEqual(documented, errorCodes());
});

test('docs/errors.md lists the close codes the server sends, and no other as sent by it', () => {
  const rows = tableWithHeader(read('docs/errors.md'), ['close code', 'sent by', 'when']).rows;
  const bySender = (sender: string) => rows.filter((row) => row[1] === sender).map((row) => Number(row[0]));
  assert.deepEqual(bySender('server').sort(), Object.values(CLOSE).sort());
  assert.deepEqual(
    rows.filter((row) => row[1] !== 'server' && row[1] !== 'ws'),
    [],
    'each close code is sent by server or ws',
  );
});

const UNIT_FACTORS: Record<string, number> = { ms: 1, s: 1000, B: 1, KiB: 1024, MiB: 1024 * 1024 };

/** `5 s` → 5000 for a `_MS` constant; `64 MiB` → bytes for a `_BYTES` one; a bare count otherwise. */
function documentedValue(name: string, written: string): number {
  const match = /^(\d[\d,]*(?:\.\d+)?)(?:\s*(ms|s|B|KiB|MiB))?$/.exec(written);
  assert.ok(match, `${name}: cannot read ${JSON.stringify(written)}`);
  const unit = match[2];
  const expectedUnits: (string | undefined)[] = name.endsWith('_MS')
    ? ['ms', 's']
    : name.endsWith('_BYTES')
      ? ['B', 'KiB', 'MiB']
      : [undefined];
  assert.ok(
    expectedUnits.includes(unit),
    `${name} is written with unit ${unit ?? 'none'}, expected ${expectedUnits.join(' or ')}`,
  );
  return Number((match[1] ?? '').replace(/,/g, '')) * (unit ? (UNIT_FACTORS[unit] ?? NaN) : 1);
}

/** Whether the test file at `path` imports `name` from test/guarantees.ts. */
function importsGuarantee(path: string, name: string): boolean {
  if (!existsSync(join(ROOT, path))) return false;
  const source = read(path);
  return [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']*)'/g)].some(
    ([, names = '', from = '']) =>
      /(^|\/)guarantees\.ts$/.test(from) && names.split(',').some((entry) => entry.trim() === name),
  );
}

test('each number in docs/guarantees.md is its test/guarantees.ts constant, imported by a test the row names', () => {
  const rows = tableWithHeader(read('docs/guarantees.md'), ['promise', 'bound', 'proved by']).rows;
  const stated = new Set<string>();
  for (const [promise = '', bounds = '', provedBy = ''] of rows) {
    if (bounds === '–') continue;
    const title = /\*\*(.*?)\*\*/.exec(promise)?.[1] ?? promise.slice(0, 40);
    const files = [...provedBy.matchAll(/`([\w./-]+\.test\.ts)`/g)].map((match) => match[1] ?? '');
    for (const bound of bounds.split(';')) {
      const match = /^`([A-Z0-9_]+)` = (.+)$/.exec(bound.trim());
      assert.ok(match, `${title}: cannot read the bound ${JSON.stringify(bound)}`);
      const [, name = '', written = ''] = match;
      assert.ok(name in guarantees, `${title}: ${name} is not in test/guarantees.ts`);
      const value = (guarantees as Record<string, number>)[name];
      assert.equal(documentedValue(name, written), value, `${title}: ${name}`);
      assert.ok(
        files.some((file) => importsGuarantee(file, name)),
        `${title}: none of ${files.join(', ')} imports ${name} from test/guarantees.ts`,
      );
      stated.add(name);
    }
  }
  assert.deepEqual(
    Object.keys(guarantees).filter((name) => !stated.has(name)),
    [],
    'constants no row of docs/guarantees.md states',
  );
});
