/**
 * `npm start`'s entry point, as a real process: it refuses a bad configuration, and on
 * SIGTERM or SIGINT it tells every kind of client and exits promptly.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import WebSocket from 'ws';
import { clients, publish, until } from './testing.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function start(t: import('node:test').TestContext, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output };
}

async function listening(t: import('node:test').TestContext): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { child, output } = start(t, {});
  await until(() => /serving http:\/\/[^/]+\//.test(output()), 'the server to say where it serves', 15_000);
  const url = /serving (http:\/\/[^/]+)\//.exec(output())?.[1];
  assert.ok(url);
  return { child, url, output };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`on ${signal} every client is told and the process exits within about a second`, async (t) => {
    const { child, url } = await listening(t);
    const streams = await Promise.all(['forever-iframe', 'sse'].map((id) => clients[id]?.(url, { since: 0 })));
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/websocket`);
    await once(socket, 'open');
    const closed = once(socket, 'close') as Promise<[number, Buffer]>;
    const heldPoll = fetch(`${url}/api/long-polling?timeout=30000`);
    await publish(url, { author: 'ada', text: 'before the end' });
    for (const stream of streams) await stream?.received(1);
    // The long poll above was answered by that publish; hold a fresh one.
    await heldPoll;
    const held = fetch(`${url}/api/long-polling?timeout=30000`);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = Date.now();
    child.kill(signal);
    const [code] = (await once(child, 'exit')) as [number | null];
    const ms = Date.now() - started;
    console.log(`${signal}: exited with ${code} after ${ms} ms`);
    assert.equal(code, 0);
    // Promptly: the grace for last words is 0.5 s; the bound is loose for a noisy machine.
    assert.ok(ms < 3000, `exited after ${ms} ms`);

    const [closeCode] = await closed;
    assert.equal(closeCode, 1001, 'WebSocket closed with 1001 Going Away');
    const answer = await held;
    assert.equal(answer.status, 200);
    assert.deepEqual(((await answer.json()) as { messages: unknown[] }).messages, []);
    for (const stream of streams) {
      assert.ok(stream);
      await until(() => stream.events.some((event) => event.type === 'end'), `${stream.technique} to be told`);
      const { epoch } = stream.position;
      assert.match(String(epoch), /^[0-9a-z]{6}$/, stream.technique);
      assert.deepEqual(stream.events.at(-1), { type: 'end', epoch, cursor: 1, reason: 'shutdown' }, stream.technique);
      await stream.close();
    }
  });
}

for (const [name, value] of [
  ['PORT', 'abc'],
  ['HISTORY_SIZE', '0'],
  ['FEED', 'mysql://x'],
] as const) {
  test(`a bad ${name} stops the start with exit code 2 and a message naming it`, async (t) => {
    const { child, output } = start(t, { [name]: value });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(output(), new RegExp(`bad configuration: ${name}`));
  });
}
