/**
 * `--browser` for real: a short run of two techniques of different wire formats (chosen by
 * capability), each with Node clients and with Chromium pages running the demo page's
 * clients, through the CLI. The browser's figures must be real: its request headers the
 * size a browser sends (far above autocannon's), one connection per page for a stream,
 * every message delivered once and in order, the delay measured in the page. Skipped
 * where Chromium is missing; the usage errors are tested everywhere.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { type Technique, withCapabilities } from '../../server/contract/techniques.js';
import { CHROMIUM, needs } from '../../test/tools.ts';
import { after, before, describe, test } from '../../test/suite.ts';
import type { BenchResult, TechniqueResult } from '../result.ts';
import { BROWSER_CLIENTS_MAX } from './capacity.ts';
import { takeHeavySlot } from '../../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENTS = 2;

/** A technique that polls when idle, and a stream that speaks another wire format. */
const A_POLLER = withCapabilities({ pollsWhenIdle: true })[0] as Technique;
const A_STREAM = withCapabilities({ streams: true }).find((t) => t.wire !== A_POLLER.wire) as Technique;

/**
 * Request header bytes per request: autocannon's are its request line and a Host (about
 * 130–140 B with the bench's query); Chromium adds User-Agent, Accept-*, Sec-Fetch-*,
 * Referer and more (540–575 B from the side-by-side page, a little more with this query).
 */
const NODE_HEADERS = { min: 80, max: 250 };
const BROWSER_HEADERS = { min: 450, max: 900 };

function bench(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], {
    cwd: ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000,
  });
}

/** The exit code and stderr of a bench run expected to fail. */
async function failing(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    await bench(args, env);
  } catch (error) {
    const failure = error as { code: number; stderr: string };
    return { code: failure.code, stderr: failure.stderr };
  }
  assert.fail(`bench ${args.join(' ')} succeeded`);
}

describe('bench --client-kinds node,browser, a short run', needs(CHROMIUM), () => {
  let out: string;
  let result: BenchResult;

  before(async () => {
    assert.ok(A_POLLER && A_STREAM, 'the registry has a poller and a stream of another wire format');
    out = await mkdtemp(join(tmpdir(), 'realtime-lab-browser-bench-'));
    const { stdout } = await bench([
      '--client-kinds',
      'node,browser',
      '--techniques',
      `${A_POLLER.id},${A_STREAM.id}`,
      '--clients',
      String(CLIENTS),
      '--rate',
      '10',
      '--duration',
      '2',
      '--poll-interval',
      '250',
      '--out',
      out,
      '--json',
    ]);
    result = JSON.parse(stdout) as BenchResult;
  });
  after(() => rm(out, { recursive: true, force: true }));

  const row = (technique: Technique, kind: 'node' | 'browser'): TechniqueResult => {
    const found = result.techniques.find((r) => r.technique === technique.id && r.clientKind === kind);
    assert.ok(found, `a ${kind} row for ${technique.id}`);
    return found;
  };
  const headersPerRequest = (r: TechniqueResult) => r.bytes.requestHeaders / r.httpRequests;

  test('each technique ran once per kind, Node first, and results.json validates against the schema', async () => {
    assert.deepEqual(
      result.techniques.map((r) => `${r.technique}/${r.clientKind}`),
      [A_POLLER.id, A_STREAM.id].flatMap((id) => [`${id}/node`, `${id}/browser`]),
    );
    assert.deepEqual(result.config.clientKinds, ['node', 'browser']);
    assert.match(result.environment.browser ?? '', /^Chromium \d+/);
    const schema = JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    assert.ok(validate(result), ajv.errorsText(validate.errors));
  });

  test("the browser's polls carry a browser's request headers, far above autocannon's", () => {
    const node = headersPerRequest(row(A_POLLER, 'node'));
    const browser = headersPerRequest(row(A_POLLER, 'browser'));
    assert.ok(node >= NODE_HEADERS.min && node <= NODE_HEADERS.max, `Node clients: ${node} B per request`);
    assert.ok(browser >= BROWSER_HEADERS.min && browser <= BROWSER_HEADERS.max, `Chromium: ${browser} B per request`);
    assert.ok(browser >= 3 * node, `Chromium ${browser} B vs Node ${node} B per request`);
  });

  test('every browser client is a page with its own connection: one request per stream, per client', () => {
    const browser = row(A_STREAM, 'browser');
    assert.equal(browser.httpRequests, CLIENTS);
    assert.ok(headersPerRequest(browser) >= BROWSER_HEADERS.min, `${headersPerRequest(browser)} B`);
  });

  test('every message reached every browser client once, in order, with its delay measured in the page', () => {
    for (const technique of [A_POLLER, A_STREAM]) {
      const r = row(technique, 'browser');
      assert.ok(r.messagesPublished > 0);
      assert.equal(r.messagesExpected, r.messagesPublished * CLIENTS);
      assert.equal(r.messagesDelivered, r.messagesExpected, `${technique.id}: ${r.warnings.join('; ')}`);
      assert.equal(r.lost, 0);
      assert.equal(r.duplicates, 0);
      assert.equal(r.outOfOrder, 0);
      assert.equal(r.subscriberErrors, 0, `${technique.id}: ${r.warnings.join('; ')}`);
      assert.equal(r.latencyMs?.samples, r.messagesDelivered);
      // What the pages received is what the server counted writing, to the byte.
      assert.ok(!r.warnings.some((w) => w.includes('payload bytes')), r.warnings.join('; '));
      assert.match(r.client, new RegExp(`pages/clients/${technique.id}\\.js`));
      assert.equal(typeof r.browser?.saturated, 'boolean');
    }
  });

  test('the side-by-side charts are written', async () => {
    const files = await readdir(out);
    for (const name of ['client-kinds-request-headers.png', 'client-kinds-delay.png'])
      assert.ok(files.includes(name), `${name} in ${files.join(', ')}`);
  });
});

describe('bench --browser usage errors', () => {
  test('without Chromium, --browser is a usage error naming what is missing (exit 2)', async () => {
    const { code, stderr } = await failing(['--browser'], { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' });
    assert.equal(code, 2);
    assert.match(stderr, /--browser needs Chromium, not found at \/nonexistent\/chromium/);
  });

  test(`more than ${BROWSER_CLIENTS_MAX} browser clients, or an unknown kind, is refused (exit 2)`, async () => {
    // Any existing file passes for Chromium: the options are refused before it is launched.
    const env = { ...process.env, CHROMIUM_PATH: process.execPath };
    const tooMany = await failing(['--browser', '--clients', String(BROWSER_CLIENTS_MAX + 1)], env);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, new RegExp(`at most ${BROWSER_CLIENTS_MAX}`));
    const unknown = await failing(['--client-kinds', 'node,deno'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--client-kinds: expected node or browser \(node,browser for both\), got "deno"/);
  });
});
