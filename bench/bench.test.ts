/**
 * A short real bench run, end to end through the CLI: fresh server processes, real
 * subscribers of every technique, autocannon publishing. The result must validate
 * against the schema and hold the invariants a healthy run must hold. Timings are never
 * asserted tightly: the machine is shared.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { publish, startServer } from '../test/support.ts';
import { REDIS, needs } from '../test/tools.ts';
import {
  type Technique,
  techniqueById,
  techniqueIds,
  techniques,
  withCapabilities,
} from '../server/contract/techniques.js';
import type { BenchResult } from './result.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = 4;
const RATE = 20;
const DURATION_SEC = 2;
const POLL_INTERVAL_MS = 250;

/** The techniques with these capabilities; never none, or a test over them would assert nothing. */
function having(wanted: Partial<Technique['capabilities']>): Technique[] {
  const found = withCapabilities(wanted);
  assert.ok(found.length > 0, `no registered technique has ${JSON.stringify(wanted)}`);
  return found;
}

/** The registry line of a result's technique. */
function techniqueOf(id: string): Technique {
  const technique = techniqueById(id);
  assert.ok(technique, `${id} is registered`);
  return technique;
}

/** Two techniques that share no request model, for the runs that need only a couple: a stream over plain HTTP, and a long poll. */
const A_STREAM = having({ streams: true, upgrades: false })[0] as Technique;
const A_LONG_POLL = having({ holdsRequest: true, streams: false })[0] as Technique;

function bench(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
}

describe('a short bench run of every technique', () => {
  let out: string;
  let result: BenchResult;
  let stdout: string;
  let stderr: string;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'realtime-lab-bench-'));
    ({ stdout, stderr } = await bench([
      '--clients',
      String(CLIENTS),
      '--rate',
      String(RATE),
      '--duration',
      String(DURATION_SEC),
      '--poll-interval',
      String(POLL_INTERVAL_MS),
      '--out',
      out,
      '--json',
    ]));
    result = JSON.parse(stdout) as BenchResult;
  });
  after(() => rm(out, { recursive: true, force: true }));

  test('--json prints exactly results.json on stdout, and progress on stderr', async () => {
    assert.deepEqual(JSON.parse(await readFile(join(out, 'results.json'), 'utf8')), result);
    assert.ok(stderr.includes(`[1/${techniques.length}] ${techniqueIds[0]}, 4 clients`), stderr);
    for (const id of techniqueIds)
      assert.ok(stderr.includes(`✓ ${id} (4 clients): all 160 delivered`), `${id} in ${stderr}`);
  });

  test('results.json validates against the schema', async () => {
    const schema = JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    assert.ok(validate(result), ajv.errorsText(validate.errors));
  });

  test('the configuration and the environment are recorded', () => {
    assert.deepEqual(result.config.techniques, techniqueIds);
    assert.equal(result.config.clients, CLIENTS);
    assert.equal(result.config.rate, RATE);
    assert.equal(result.environment.node, process.version);
    assert.ok(result.environment.cpus >= 1);
  });

  test('every message reaches every subscriber once, in order', () => {
    assert.deepEqual(
      result.techniques.map((t) => t.technique),
      techniqueIds,
    );
    for (const t of result.techniques) {
      assert.equal(t.messagesPublished, RATE * DURATION_SEC, t.technique);
      assert.equal(t.messagesExpected, t.messagesPublished * CLIENTS, t.technique);
      assert.equal(t.messagesDelivered, t.messagesExpected, t.technique);
      assert.equal(t.lost, 0, t.technique);
      assert.equal(t.duplicates, 0, t.technique);
      assert.equal(t.outOfOrder, 0, t.technique);
      assert.equal(t.subscriberErrors, 0, t.technique);
    }
  });

  test('the byte parts add up to the total, and the payload is what the subscribers received', () => {
    for (const t of result.techniques) {
      const { requestHeaders, responseHeaders, framing, payload, total } = t.bytes;
      assert.equal(requestHeaders + responseHeaders + framing + payload, total, t.technique);
      assert.ok(framing > 0 && requestHeaders > 0 && responseHeaders > 0, `${t.technique}: every part is on the wire`);
      // ~100-byte messages: the padding aims at the configured payload size.
      assert.ok(
        Math.abs(payload / t.messagesDelivered - 100) <= 5,
        `${t.technique}: ${payload / t.messagesDelivered} bytes per payload`,
      );
      assert.equal(
        t.overheadBytesPerMessage,
        Math.round(((total - payload) / t.messagesDelivered) * 1000) / 1000,
        t.technique,
      );
      assert.ok(!t.warnings.some((w) => w.includes('payload bytes')), `${t.technique}: ${t.warnings.join('; ')}`);
    }
  });

  test('request counts follow the models: streams one per client, long polls one per message, short polls one per interval', () => {
    const byId = new Map(result.techniques.map((t) => [t.technique, t]));
    const resultOf = (technique: Technique) => {
      const found = byId.get(technique.id);
      assert.ok(found, `${technique.id} was run`);
      return found;
    };
    for (const technique of having({ streams: true }))
      assert.equal(resultOf(technique).httpRequests, CLIENTS, technique.id);
    for (const technique of having({ holdsRequest: true, streams: false })) {
      const long = resultOf(technique);
      assert.ok(
        Math.abs(long.httpRequests - CLIENTS * (1 + long.messagesPublished)) <= CLIENTS,
        `${technique.id} made ${long.httpRequests} requests`,
      );
    }
    for (const technique of having({ pollsWhenIdle: true })) {
      const short = resultOf(technique);
      const model = short.theory.find((c) => c.metric === 'httpRequests');
      assert.ok(model, `${technique.id} has a request model`);
      assert.equal(model.predicted, Math.round(((CLIENTS * short.subscribedMs) / POLL_INTERVAL_MS) * 1000) / 1000);
      assert.ok(model.agrees, `${technique.id} made ${model.measured} requests, the model says ${model.predicted}`);
      // Polling answers are delayed by the wait for the next poll; what is pushed is not.
      for (const pushed of having({ upgrades: true })) {
        assert.ok(
          (short.latencyMs?.mean ?? 0) > (resultOf(pushed).latencyMs?.mean ?? Infinity),
          `${technique.id} is slower than ${pushed.id}`,
        );
      }
    }
  });

  test('the framing models count what the server writes', () => {
    // Bytes, not timings: each model reads the server's encoders and defaults, so it holds on any machine.
    for (const t of result.techniques) {
      for (const check of t.theory.filter((c) => c.metric === 'framingBytesPerMessage')) {
        assert.ok(
          check.agrees,
          `${t.technique}: measured ${check.measured} framing bytes per message, the model (${check.model}) says ${check.predicted}`,
        );
      }
    }
    for (const technique of having({ streams: true })) {
      assert.ok(
        result.techniques
          .find((t) => t.technique === technique.id)
          ?.theory.some((c) => c.metric === 'framingBytesPerMessage'),
        `${technique.id} has a framing model`,
      );
    }
  });

  test('autocannon figures are kept for the pollers and the publisher', () => {
    for (const t of result.techniques) {
      assert.equal(t.publisher?.requests, t.messagesPublished, t.technique);
      assert.equal(t.publisher?.non2xx, 0, t.technique);
      if (techniqueOf(t.technique).wire === 'poll')
        assert.ok((t.autocannon?.requests ?? 0) > 0, `${t.technique}: autocannon counted requests`);
    }
  });

  test('the server process is measured', () => {
    for (const t of result.techniques) {
      assert.ok(t.server, t.technique);
      assert.ok(
        t.server.cpuMs >= 0 &&
          t.server.maxRssBytes >= t.server.rssAtStartBytes &&
          t.server.rssAtStartBytes > 10 * 1024 * 1024,
        t.technique,
      );
      // Its connections per address are capped from the client count: on, and above what the run opens.
      const cap = t.server.maxConnectionsPerAddress ?? 0;
      assert.ok(cap > t.clients + 1 && cap <= t.clients + 64, `${t.technique}: MAX_CONNECTIONS_PER_ADDRESS ${cap}`);
    }
  });

  test('the folder holds results.json, summary.md, index.html and a PNG per chart', async () => {
    const files = await readdir(out);
    for (const file of ['results.json', 'summary.md', 'index.html', 'chart.umd.js', 'view.js', 'results.css'])
      assert.ok(files.includes(file), file);
    const pngs = files.filter((f) => f.endsWith('.png')).sort();
    assert.deepEqual(pngs, [
      'bytes-per-client-minute.png',
      'bytes-per-message.png',
      'latency-cdf.png',
      'latency-percentiles.png',
      'requests-per-message.png',
      'server-resources.png',
      'theory-vs-measured.png',
    ]);
    for (const png of pngs) {
      const data = await readFile(join(out, png));
      assert.equal(data.subarray(1, 4).toString(), 'PNG', png);
      assert.equal(data.readUInt32BE(16), 1200, `${png} width`);
      assert.ok(data.length > 10_000, `${png} has something drawn`);
    }
    const html = await readFile(join(out, 'index.html'), 'utf8');
    for (const png of pngs) assert.ok(html.includes(`data-chart="${png.replace('.png', '')}"`), png);
    assert.ok(!/<script[^>]+src="(https?:)?\/\//.test(html), 'no script from another site');
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    for (const t of result.techniques) assert.ok(summary.includes(`| ${t.technique} |`), t.technique);
  });
});

test('--url measures a running server, and says what it could not measure there', async (t) => {
  const server = await startServer(t);
  // Someone else's message already in the feed must not count.
  await publish(server.url, { author: 'someone', text: 'before the bench' });
  const out = await mkdtemp(join(tmpdir(), 'realtime-lab-bench-url-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const { stdout } = await bench([
    '--url',
    server.url,
    '--techniques',
    `${A_STREAM.id},${A_LONG_POLL.id}`,
    '--clients',
    '2',
    '--rate',
    '10',
    '--duration',
    '1',
    '--out',
    out,
    '--json',
  ]);
  const result = JSON.parse(stdout) as BenchResult;
  assert.equal(result.config.url, server.url);
  for (const t of result.techniques) {
    assert.equal(t.messagesDelivered, 20, t.technique);
    assert.equal(t.foreignMessages, 0, t.technique);
    assert.equal(t.server, null, t.technique);
    assert.ok(
      t.warnings.some((w) => w.includes('not measured with --url')),
      t.technique,
    );
  }
});

test('--url refuses a server whose connections per address are too few for the bench, and says which setting', async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerAddress: 3 } });
  await assert.rejects(
    bench(['--url', server.url, '--techniques', A_STREAM.id, '--clients', '2', '--rate', '10', '--duration', '1']),
    (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(
        error.stderr,
        /lets one address hold 3 connections \(MAX_CONNECTIONS_PER_ADDRESS\), and this bench opens up to \d+ from this machine: start that server with MAX_CONNECTIONS_PER_ADDRESS=0/,
      );
      return true;
    },
  );
});

test('--url with nothing listening fails at once with exit code 1 and says so', async () => {
  // A port that was free a moment ago.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  await assert.rejects(bench(['--url', `http://127.0.0.1:${port}`]), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the server running\?/);
    assert.doesNotMatch(error.stderr, /starting the server|connecting/);
    return true;
  });
});

test(
  '--feed memory,redis --nodes 2 runs the baseline and two nodes on a private Redis, and reports the backplane',
  needs(REDIS),
  async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'realtime-lab-bench-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    const { stdout } = await bench([
      '--techniques',
      `${A_STREAM.id},${A_LONG_POLL.id}`,
      '--feed',
      'memory,redis',
      '--nodes',
      '2',
      '--clients',
      '4',
      '--rate',
      '20',
      '--duration',
      '1',
      '--out',
      out,
      '--json',
    ]);
    const result = JSON.parse(stdout) as BenchResult;
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8')));
    assert.ok(validate(result), ajv.errorsText(validate.errors));
    assert.deepEqual(
      result.techniques.map((r) => `${r.technique} ${r.feed}×${r.nodes}`),
      [`${A_STREAM.id} memory×1`, `${A_LONG_POLL.id} memory×1`, `${A_STREAM.id} redis×2`, `${A_LONG_POLL.id} redis×2`],
    );
    for (const r of result.techniques) {
      assert.equal(r.lost, 0, `${r.technique} on ${r.feed}`);
      assert.equal(r.duplicates, 0);
      assert.equal(r.outOfOrder, 0);
      assert.equal(r.messagesDelivered, r.messagesPublished * 4);
      if (r.feed === 'memory') continue;
      // Two subscribers on the publisher's node, two on the other: every delivery counted once in either.
      assert.equal(
        (r.latencyByNode?.sameNode?.samples ?? 0) + (r.latencyByNode?.otherNodes?.samples ?? 0),
        r.messagesDelivered,
      );
      assert.equal(r.latencyByNode?.otherNodes?.samples, r.messagesPublished * 2);
      // Both nodes' sockets are counted: a stream per subscriber, over the two nodes.
      if (techniqueOf(r.technique).capabilities.streams) assert.equal(r.httpRequests, 4);
    }
    assert.ok(result.backplane && result.backplane.publishes > 0 && result.backplane.publishesPerSecond > 0);
    // redis-benchmark comes with Debian's redis-server (redis-tools): the script's own ceiling.
    assert.ok(result.backplane.scriptCeiling && result.backplane.scriptCeiling.publishesPerSecond > 0);
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    assert.match(summary, /## The Redis backplane/);
    assert.match(
      summary,
      new RegExp(`\\| ${A_STREAM.id} \\| 4 \\| [\\d.]+ / [\\d.]+ \\| [\\d.]+ / [\\d.]+ \\| [\\d.]+ / [\\d.]+ \\|`),
    );
    assert.ok((await readdir(out)).includes('backplane-latency.png'));
  },
);

describe('the bench command line', () => {
  test('--help explains the options and exits 0', async () => {
    const { stdout } = await bench(['--help']);
    for (const flag of [
      '--techniques',
      '--clients',
      '--rate',
      '--duration',
      '--payload',
      '--poll-interval',
      '--url',
      '--out',
      '--json',
      '--scenario',
      '--feed',
      '--nodes',
    ])
      assert.ok(stdout.includes(flag), flag);
  });

  for (const [args, message] of [
    [['--clients', '0'], /--clients: 0 is out of range/],
    [['--clients', 'many'], /--clients: expected a whole number/],
    [['--rate=-5'], /--rate: expected a whole number/],
    [['--techniques', 'carrier-pigeon'], /--techniques: unknown technique "carrier-pigeon"/],
    [['--payload', '10'], /--payload: 10 is out of range/],
    [['--url', 'ftp://example.com'], /--url: only http:\/\/ is supported/],
    [['--scenario', 'party'], /--scenario: unknown scenario "party"/],
    [['--clent', '3'], /Unknown option '--clent'/],
    [['--feed', 'mongodb://x'], /--feed: expected memory, redis or a redis:\/\/ URL/],
    [['--nodes', '2', '--feed', 'memory'], /--nodes: several nodes share a feed through Redis/],
    [['--nodes', '9'], /--nodes: 9 is out of range/],
    [['--url', 'http://127.0.0.1:1', '--nodes', '2'], /with --url it measures a running one as it is/],
  ] as const) {
    test(`${args.join(' ')} is refused with exit code 2 before anything starts`, async () => {
      await assert.rejects(bench([...args]), (error: { code: number; stderr: string; stdout: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, message);
        assert.doesNotMatch(error.stderr, /starting the server/);
        assert.equal(error.stdout, '');
        return true;
      });
    });
  }
});
