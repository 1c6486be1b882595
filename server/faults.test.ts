/**
 * Faults the server must survive without losing track: a thousand clients that hang up,
 * a WebSocket peer that vanishes without a FIN or RST (through the fault proxy), and the
 * server process killed and started again under its clients.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { FaultProxy } from '../bench/fault-proxy.ts';
import { DEAD_PEER_MAX_HEARTBEATS, HANGUP_CLEANUP_MAX_MS } from '../test/guarantees.ts';
import { publish, startServer, until } from '../test/support.ts';
import { withCapabilities } from './contract/techniques.js';

const CLIENTS = 1000;

// Every technique whose server holds an HTTP response open while it waits.
for (const { id: technique } of withCapabilities({ holdsRequest: true })) {
  test(`${technique}: ${CLIENTS} clients that hang up leave no listener behind, within ${HANGUP_CLEANUP_MAX_MS} ms`, async (t) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    // All from 127.0.0.1: past the default cap of connections per address.
    const server = await startServer(t, { config: { maxConnectionsPerAddress: 0 } });
    const baseline = server.feed.listenerCount;
    const requests: ClientRequest[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const req = httpRequest(`${server.url}/api/${technique}?since=0`, { agent: false });
      req.on('error', () => undefined);
      req.on('response', (res) => res.resume());
      req.end();
      requests.push(req);
    }
    await until(() => server.wire.activeRequests(technique) === CLIENTS, `${CLIENTS} held requests`, 20_000);
    assert.equal(server.feed.listenerCount, baseline + CLIENTS);
    const cut = Date.now();
    for (const req of requests) req.destroy();
    // The log says how long it took: usually far less than the bound.
    await until(
      () => server.feed.listenerCount === baseline && server.wire.activeRequests(technique) === 0,
      'the listeners to go',
      HANGUP_CLEANUP_MAX_MS,
    );
    console.log(`${technique}: ${CLIENTS} hang-ups cleaned up in ${Date.now() - cut} ms`);
    assert.deepEqual(
      warnings.filter((name) => name === 'MaxListenersExceededWarning'),
      [],
    );
  });
}

// Every upgraded connection: it has a heartbeat of its own (WebSocket ping and pong).
for (const { id } of withCapabilities({ upgrades: true })) {
  test(`${id}: a peer that vanishes without FIN or RST is dropped by the heartbeat within ${DEAD_PEER_MAX_HEARTBEATS} intervals`, async (t) => {
    const HEARTBEAT_MS = 300;
    const server = await startServer(t, { config: { heartbeatMs: HEARTBEAT_MS } });
    const { port } = new URL(server.url);
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(port) });
    t.after(() => proxy.close());
    const baseline = server.feed.listenerCount;
    const socket = new WebSocket(`${proxy.url.replace('http', 'ws')}/api/${id}`);
    socket.on('error', () => undefined);
    await once(socket, 'open');
    assert.equal(server.feed.listenerCount, baseline + 1);
    const [connection] = proxy.connections;
    assert.ok(connection);
    proxy.blackhole(connection);
    const started = Date.now();
    await until(
      () => server.feed.listenerCount === baseline && server.wire.activeRequests(id) === 0,
      'the server to drop the peer',
      5000,
    );
    const took = Date.now() - started;
    console.log(`${id}: blackholed peer dropped after ${took} ms (heartbeat ${HEARTBEAT_MS} ms)`);
    assert.ok(took <= DEAD_PEER_MAX_HEARTBEATS * HEARTBEAT_MS, `took ${took} ms`);
    assert.equal(connection.client.destroyed, false, 'the peer never closed anything itself');
  });
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startProcess(t: import('node:test').TestContext, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  await until(() => output.includes('serving'), 'the server to start', 15_000);
  return child;
}

/** The feed's epoch, from the server's health document. */
async function epochOf(url: string): Promise<string> {
  return ((await (await fetch(`${url}/api/health`)).json()) as { epoch: string }).epoch;
}

test('killed and started again, the server tells its returning clients their history is gone, even once it has counted past their cursor', async (t) => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const first = await startProcess(t, port);
  for (const text of ['one', 'two', 'three']) await publish(url, { author: 'ada', text });
  const old = await epochOf(url);

  // A real EventSource: it reconnects by itself, with the last id it saw. Its requests
  // wait at `gate` while the test holds it shut, as over a slow network: so the new
  // server can count past the old cursor before the EventSource comes back.
  let gate: Promise<void> = Promise.resolve();
  const source = new EventSource(`${url}/api/sse?since=0`, {
    fetch: async (input, init) => gate.then(() => fetch(input, init)),
  });
  t.after(() => source.close());
  const seen: string[] = [];
  source.onmessage = (event) => seen.push(`${event.lastEventId}:${JSON.parse(event.data).text}`);
  source.addEventListener('reset', (event) => seen.push(`reset:${JSON.parse(event.data).epoch}`));
  await until(() => seen.length === 3, 'the history', 5000);

  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  first.kill('SIGKILL');
  await once(first, 'exit');
  await startProcess(t, port);
  const epoch = await epochOf(url);
  for (let i = 1; i <= 5; i += 1) await publish(url, { author: 'ada', text: `new ${i}` });
  open();

  // EventSource comes back with Last-Event-ID <old>.3: behind the new feed, which has
  // messages 1..5, but of another epoch. Before epochs it got 4 and 5, and never heard
  // of 1..3.
  await until(() => seen.length === 9, 'the reset and the new messages', 15_000);
  assert.notEqual(epoch, old);
  assert.deepEqual(seen, [
    `${old}.1:one`,
    `${old}.2:two`,
    `${old}.3:three`,
    `reset:${epoch}`,
    ...[1, 2, 3, 4, 5].map((id) => `${epoch}.${id}:new ${id}`),
  ]);

  // A poller with the old cursor is told the same, and gets the new history.
  const answer = (await (await fetch(`${url}/api/short-polling?since=3&epoch=${old}`)).json()) as {
    epoch: string;
    reset?: boolean;
    messages: { text: string }[];
  };
  assert.equal(answer.reset, true);
  assert.equal(answer.epoch, epoch);
  assert.deepEqual(
    answer.messages.map((m) => m.text),
    ['new 1', 'new 2', 'new 3', 'new 4', 'new 5'],
  );
  // Without its epoch a cursor is taken as this feed's: what a client that keeps no epoch
  // risks across a restart.
  const bare = (await (await fetch(`${url}/api/short-polling?since=3`)).json()) as {
    reset?: boolean;
    messages: { text: string }[];
  };
  assert.deepEqual([bare.reset, bare.messages.map((m) => m.text)], [undefined, ['new 4', 'new 5']]);
});
