/**
 * A tiny `npm run bench -- --peers` end to end through the CLI: one technique of
 * realtime-lab's beside two peers of other families, a few subscribers, a second of
 * publishing and 200 idle connections per row. The result validates against the
 * schema, has every row and every figure, and each row delivered exactly once.
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
import { takeHeavySlot } from '../../test/heavy.ts';
import { after, before, describe, test } from '../../test/suite.ts';
import { allowedCpus, parseCpuList } from '../cpu-split.ts';
import { UsageError, parseOptions } from '../options.ts';
import type { BenchResult } from '../result.ts';

// A bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENTS = 3;
const RATE = 10;
const IDLE = 200;
const TECHNIQUE = withCapabilities({ upgrades: true })[0] as Technique;
const PEER_NAMES = ['ws', 'sockjs-xhr-streaming'];

describe('a tiny --peers run', () => {
  let out: string;
  let result: BenchResult;
  let stderr: string;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'realtime-lab-peers-'));
    const run = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/cli.ts',
        '--peers',
        '--techniques',
        TECHNIQUE.id,
        '--peer-names',
        PEER_NAMES.join(','),
        '--clients',
        String(CLIENTS),
        '--rate',
        String(RATE),
        '--duration',
        '1',
        '--idle-clients',
        String(IDLE),
        '--out',
        out,
        '--json',
      ],
      // SIGTERM on a timeout: the CLI exits through process.exit, which ends the servers it started.
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 90_000 },
    );
    result = JSON.parse(run.stdout) as BenchResult;
    stderr = run.stderr;
  });
  after(() => rm(out, { recursive: true, force: true }));

  test('results.json validates against the schema and has every row, in family order', async () => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8')));
    assert.ok(validate(result), ajv.errorsText(validate.errors));
    assert.deepEqual(
      result.peers?.rows.map((r) => `${r.side} ${r.name}`),
      [`realtime-lab ${TECHNIQUE.id}`, `peer ${PEER_NAMES[0]}`, `peer ${PEER_NAMES[1]}`],
    );
    assert.ok(stderr.includes(`[3/3] peer ${PEER_NAMES[1]}`), stderr);
  });

  test('every row has every figure, and delivered each message exactly once', () => {
    for (const r of result.peers?.rows ?? []) {
      assert.equal(r.messagesPublished, RATE, r.name);
      assert.equal(r.messagesExpected, RATE * CLIENTS, r.name);
      assert.equal(r.messagesDelivered, r.messagesExpected, r.name);
      assert.equal(r.duplicates, 0, r.name);
      // Every delivered message crossed the wire with at least its JSON.
      assert.ok((r.wireBytesPerMessage ?? 0) >= 80, `${r.name}: ${r.wireBytesPerMessage} B/msg`);
      assert.ok(r.latencyMs && r.latencyMs.samples === r.messagesDelivered, r.name);
      assert.ok(r.cpuMs !== null && r.cpuUsPerMessage !== null, r.name);
      assert.ok(r.memory && r.memory.clients === IDLE && r.memory.rssConnectedBytes > 0, r.name);
      // Settled (garbage collected first), every server's idle connections hold more than
      // a kilobyte each (a socket alone is ~2 kB), SockJS's included: the reading before
      // them waits out its sessions' disconnect_delay (Peer.keepsClosedMs). Two hundred of
      // them, as a few tens of kB move with V8's own schedule from one reading to the next:
      // at ten connections the figure was -1,651 to +29,782 bytes "per connection", at 200
      // 2,920 to 3,869 for the WebSocket rows in three runs.
      assert.ok(r.memory.perConnectionBytes > 1000, `${r.name}: held per connection ${r.memory.perConnectionBytes} B`);
    }
    assert.deepEqual(Object.keys(result.peers?.best ?? {}), ['websocket', 'streaming']);
  });

  test('the servers ran on a CPU of their own, the bench on the others (bench/cpu-split.ts)', () => {
    const cpus = allowedCpus();
    const split = result.peers?.cpuSplit;
    if (cpus !== null && cpus.length < 2) {
      assert.equal(split, null);
      assert.ok(
        result.warnings.some((w) => w.includes('shared the CPUs')),
        result.warnings.join('\n'),
      );
      return;
    }
    // Two CPUs or more: a split, or the run says why not (taskset missing) and this fails with it.
    assert.ok(split, `no CPU split: ${result.warnings.join('\n')}`);
    const server = parseCpuList(split.server);
    const bench = parseCpuList(split.bench);
    assert.ok(server.length > 0 && bench.length > 0, JSON.stringify(split));
    assert.ok(!server.some((cpu) => bench.includes(cpu)), `server ${split.server} and bench ${split.bench} overlap`);
    // Each row's server, as the kernel listed its CPUs while it was publishing.
    for (const r of result.peers?.rows ?? []) assert.equal(r.serverCpus, split.server, r.name);
  });

  test('the summary says which CPUs the servers and the bench ran on', async () => {
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    const split = result.peers?.cpuSplit;
    if (split)
      assert.ok(summary.includes(`Every server ran on CPU ${split.server} and the bench on CPU ${split.bench}`));
    else assert.ok(summary.includes('The servers and the bench shared the CPUs'), summary);
  });

  test('the summary has the table and the charts are drawn', async () => {
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    assert.match(summary, /## realtime-lab beside the established libraries/);
    for (const name of [`realtime-lab ${TECHNIQUE.id}`, ...PEER_NAMES])
      assert.ok(summary.includes(`| ${name} |`), name);
    const pngs = (await readdir(out)).filter((f) => f.endsWith('.png')).sort();
    assert.deepEqual(pngs, [
      'peers-bytes-per-message.png',
      'peers-cpu-per-message.png',
      'peers-delay.png',
      'peers-memory-per-connection.png',
    ]);
  });
});

test('a CPU list reads as the kernel and taskset write it', () => {
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0-3,6,8-9\n'), [0, 1, 2, 3, 6, 8, 9]);
  assert.throws(() => parseCpuList('0-x'), /not a CPU list/);
});

test('--peers refuses what it cannot do, with the reason', () => {
  assert.throws(() => parseOptions(['--peers', '--http', '2']), UsageError);
  assert.throws(() => parseOptions(['--peers', '--clients', '10,100']), /one client count/);
  assert.throws(() => parseOptions(['--peers', '--peer-names', 'nope']), /unknown peer "nope"/);
  assert.throws(() => parseOptions(['--idle-clients', '10']), /add --peers/);
  assert.throws(() => parseOptions(['--peer-rounds', '3']), /add --peers/);
  assert.throws(() => parseOptions(['--peers', '--peer-rounds', '0']), /--peer-rounds/);
  assert.throws(() => parseOptions(['--peers', '--peer-rounds', '10']), /--peer-rounds/);
  const options = parseOptions(['--peers']);
  assert.deepEqual(
    [options?.clients, options?.rate, options?.durationSec, options?.peers?.idleClients, options?.peers?.rounds],
    [[100], 20, 5, 1000, 1],
  );
  assert.equal(parseOptions(['--peers', '--peer-rounds', '3'])?.peers?.rounds, 3);
});
