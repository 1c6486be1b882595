import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { test } from '../test/suite.ts';
import { calibrate } from './clock.ts';
import { DeliveryTracker } from './delivery.ts';
import { drivers } from './drivers/index.ts';
import { PEERS } from './peers/peers.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';

const AUTHOR = 'bench-compiled-test';
const CLIENTS = 2;

/** The command line a process was started with, as Linux keeps it. */
function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({}, undefined, { compiled: true });
});
after(() => server?.stop());

test('the compiled server runs as JavaScript, with no TypeScript loader in its process', () => {
  const args = commandLine(server.pid);
  assert.ok(!args.some((arg) => arg.includes('tsx')), `no tsx in ${args.join(' ')}`);
  assert.match(args.at(-1) ?? '', /\/server\/main\.js$/);
});

test('the compiled server loads every registered technique and serves its page', async () => {
  const stats = (await (await fetch(`${server.baseUrl}/api/stats`)).json()) as { techniques: Record<string, unknown> };
  for (const driver of drivers) assert.ok(driver.id in stats.techniques, `${driver.id} is served`);
  // Linked, not compiled: the pages and the contract's browser modules.
  assert.equal((await fetch(`${server.baseUrl}/`)).status, 200);
  assert.equal((await fetch(`${server.baseUrl}/contract/techniques.js`)).status, 200);
});

for (const driver of drivers) {
  test(`${driver.id}: the bench's own driver gets every message once from the compiled server`, async () => {
    const health = (await (await fetch(`${server.baseUrl}/api/health`)).json()) as { lastId: number; epoch: string };
    const clock = await calibrate(server.baseUrl, 3);
    const tracker = new DeliveryTracker(AUTHOR, CLIENTS);
    const subscribers = driver.subscribe({
      technique: driver,
      baseUrl: server.baseUrl,
      clientId: `compiled-${driver.id}`,
      clients: CLIENTS,
      since: health.lastId,
      epoch: health.epoch,
      pollIntervalMs: 100,
      tracker,
      clock,
    });
    const ids: number[] = [];
    try {
      await subscribers.ready;
      for (const text of ['one', 'two']) {
        const response = await fetch(`${server.baseUrl}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ author: AUTHOR, text }),
        });
        assert.equal(response.status, 201);
        ids.push(((await response.json()) as { id: number }).id);
      }
      const deadline = Date.now() + 5000;
      while (!tracker.hasAll(ids) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    } finally {
      const report = await subscribers.stop();
      assert.equal(report.errors, 0);
    }
    const figures = tracker.figures();
    assert.equal(figures.messagesDelivered, 2 * CLIENTS);
    assert.equal(figures.duplicates, 0);
  });
}

/** Every other program --peers and --crowd start compiled: each peer's, once per script and environment, and the bare server. */
const OTHER_PROGRAMS = new Map<string, { script: string; env: Record<string, string> }>([
  ['bench/bare/main.ts', { script: 'bench/bare/main.ts', env: {} }],
  ...PEERS.map(
    (peer) => [`${peer.script} ${JSON.stringify(peer.env)}`, { script: peer.script, env: peer.env }] as const,
  ),
]);

for (const [name, { script, env }] of OTHER_PROGRAMS) {
  test(`${name}: serves compiled, with no TypeScript loader`, async () => {
    const other = await startServerProcess(env, script, { compiled: true });
    try {
      assert.ok(!commandLine(other.pid).some((arg) => arg.includes('tsx')));
      assert.equal((await fetch(`${other.baseUrl}/api/health`)).status, 200);
    } finally {
      await other.stop();
    }
  });
}

test('a program outside the compiled folders is a clear error', async () => {
  await assert.rejects(startServerProcess({}, 'bench/cli.ts', { compiled: true }), /not among the compiled servers/);
});
