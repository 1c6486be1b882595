import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { assertDriverGetsEveryMessageOnce } from '../test/driver-delivery.ts';
import { test } from '../test/suite.ts';
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
    await assertDriverGetsEveryMessageOnce(driver, server.baseUrl, {
      author: AUTHOR,
      clientId: `compiled-${driver.id}`,
      clients: CLIENTS,
    });
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
