/**
 * The reconnect storm (`--storm`), end to end through its command line: a few hundred
 * clients of one streaming technique, their server killed and restarted on the same port
 * with and without the backoff's jitter. Every client must catch up and every message
 * published before, during and after the restart must reach every client exactly once;
 * the figures must be there, results.json must validate, and without jitter the clients
 * must come back together (the lesson), which with jitter they do not.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { withCapabilities } from '../server/contract/techniques.js';
import { after, before, describe, test } from '../test/suite.ts';
import { REDIS, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';
import type { BenchResult } from './result.ts';
import type { StormTrial } from './storm/figures.ts';
import { UsageError, parseOptions } from './options.ts';

// A bench run with hundreds of sockets and three server processes: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = 200;
const [STREAMING] = withCapabilities({ streams: true, upgrades: false });
const [POLLING] = withCapabilities({ pollsWhenIdle: true });
if (!STREAMING || !POLLING) throw new Error('the registry lacks a stream over HTTP or a poller');

/** From the first client caught up to the last, ms. */
const spread = (t: StormTrial) => (t.caughtUp.maxMs ?? 0) - (t.caughtUp.minMs ?? 0);

describe('the reconnect storm', needs(REDIS), () => {
  let out: string;
  let result: BenchResult;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'realtime-lab-storm-'));
    // The CLI exits 1 when a message was lost, repeated or gapped, or a client never came back.
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/cli.ts',
        '--storm',
        '--techniques',
        STREAMING.id,
        '--clients',
        String(CLIENTS),
        '--out',
        out,
      ],
      { cwd: ROOT, timeout: 120_000 },
    );
    result = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
  });
  after(() => out && rm(out, { recursive: true, force: true }));

  test('results.json validates against the schema, with one storm with jitter and one without', async () => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8')));
    assert.ok(validate(result), ajv.errorsText(validate.errors));
    assert.deepEqual(
      result.storm?.trials.map((t) => [t.technique, t.jitter, t.clients]),
      [
        [STREAMING.id, true, CLIENTS],
        [STREAMING.id, false, CLIENTS],
      ],
    );
  });

  test('every client caught up after the server was back, and every message arrived once', () => {
    for (const t of result.storm?.trials ?? []) {
      const m = t.messages;
      assert.equal(t.caughtUp.clients, CLIENTS, `${t.jitter}: clients caught up`);
      // Nobody can hold a message published after the kill before the new server serves it.
      assert.ok((t.caughtUp.minMs ?? 0) >= t.serverDownMs, `${t.jitter}: caught up before the server was back`);
      assert.ok(m.publishedBefore > 0 && m.publishedDuring > 0 && m.publishedAfter > 0, JSON.stringify(m));
      assert.equal(m.expected, (m.publishedBefore + m.publishedDuring + m.publishedAfter) * CLIENTS);
      assert.deepEqual([m.delivered, m.lost, m.duplicates, m.gapsReported], [m.expected, 0, 0, 0]);
    }
  });

  test("the figures are there: the server's requests per second, retries, its CPU and the workers'", () => {
    assert.equal(result.storm?.workers, 2);
    for (const t of result.storm?.trials ?? []) {
      assert.equal(t.clientCpu?.workers.length, 2, `${t.jitter}: client CPU of both workers`);
      assert.ok(t.connections.requestsSeen >= CLIENTS, `${t.jitter}: requests seen ${t.connections.requestsSeen}`);
      assert.ok(t.connections.peakPerSecond > 0 && t.connections.series.length > 0);
      assert.ok(t.reconnectAttempts >= CLIENTS, `${t.jitter}: every client tried again at least once`);
      assert.equal(t.retries, t.reconnectAttempts - CLIENTS);
      assert.ok(t.server && t.server.cpuMs >= 0 && t.server.maxRssBytes > 0);
      assert.equal(t.caughtUp.series.at(-1)?.clients, CLIENTS);
    }
  });

  test('without jitter the clients come back together; with it, spread over the backoff window', () => {
    const [jittered, together] = result.storm?.trials ?? [];
    assert.ok(jittered && together);
    // The jitter spreads each wait over ±50% of 1 s or more; without it every client retries
    // at the same moment, and what spreads them is only how fast the server takes them in.
    assert.ok(
      spread(together) < spread(jittered),
      `caught-up spread without jitter ${spread(together)} ms, with ${spread(jittered)} ms`,
    );
  });

  test('the report has the storm table and its two charts', async () => {
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    assert.match(summary, /## Reconnect storm/);
    assert.match(summary, new RegExp(`\\| ${STREAMING.id} \\| no jitter \\| ${CLIENTS} \\|`));
    const files = await readdir(out);
    for (const chart of ['storm-connections.png', 'storm-caught-up.png']) assert.ok(files.includes(chart), chart);
  });
});

describe('--storm, its flags', () => {
  test('defaults to 10,000 clients of the event stream and WebSocket, chosen by capability and wire format', () => {
    const options = parseOptions(['--storm']);
    const expected = withCapabilities({ streams: true })
      .filter((t) => t.wire === 'event-stream' || t.wire === 'websocket')
      .map((t) => t.id);
    assert.deepEqual([options?.storm, options?.clients, options?.techniques], [true, [10_000], expected]);
  });

  test('refuses what it cannot run: a poller, a sweep, other kinds of run', () => {
    assert.throws(() => parseOptions(['--storm', '--techniques', POLLING.id]), UsageError);
    assert.throws(() => parseOptions(['--storm', '--clients', '100,200']), UsageError);
    assert.throws(() => parseOptions(['--storm', '--clients', '10001']), UsageError);
    assert.throws(() => parseOptions(['--storm', '--feed', 'memory']), UsageError);
    assert.throws(() => parseOptions(['--storm', '--chaos']), UsageError);
  });
});

/** Every process under `pid` now (children, theirs, …), from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone since the listing.
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, of] of parents) {
      if (of !== parent) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a storm stopped halfway', needs(REDIS), () => {
  test('leaves no server, Redis or client worker behind', async () => {
    const out = await mkdtemp(join(tmpdir(), 'realtime-lab-storm-stopped-'));
    const cli = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/cli.ts', '--storm', '--techniques', STREAMING.id, '--clients', '20', '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      // Once its clients are connected, the bench runs a Redis, two servers and two workers.
      await new Promise<void>((resolve, reject) => {
        let said = '';
        cli.stderr?.on('data', (chunk: Buffer) => {
          said += chunk.toString();
          if (/connected; publishing/.test(said)) resolve();
        });
        cli.once('exit', (code) => reject(new Error(`the bench exited (${code}) before connecting: ${said}`)));
      });
      const under = descendants(cli.pid as number);
      assert.ok(under.length >= 5, `processes under the bench: ${under.length}`);
      const exited = new Promise((resolve) => cli.once('exit', resolve));
      cli.kill('SIGTERM');
      await exited;
      const deadline = Date.now() + 10_000;
      while (under.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(under.filter(alive), [], 'processes the stopped bench left running');
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
      await rm(out, { recursive: true, force: true });
    }
  });
});
