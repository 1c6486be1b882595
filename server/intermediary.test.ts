/**
 * `npm start -- --intermediary NAME`: the real entry point, started behind an
 * intermediary, serves the pages through it: behind strip-upgrade an upgrading technique's
 * handshake gets 426 while polling works; behind buffering a stream's first message is
 * held until 4 KiB of it have passed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { get, request } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { publish, until } from '../test/support.ts';
import { cursorQuery } from './contract/feed.js';
import { withCapabilities } from './contract/techniques.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Starts main.ts with `args`; resolves with where it serves and where the app itself listens. */
async function startBehind(
  t: { after(fn: () => void): void },
  args: string[],
): Promise<{ served: string; direct: string; output: () => string }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  t.after(() => child.kill('SIGKILL'));
  await until(
    () => /serving http:\/\/[^/]+\//.test(output),
    () => `the server to say where it serves: ${output}`,
    15_000,
  );
  const served = (/serving (http:\/\/[^/]+)\//.exec(output)?.[1] ?? '').replace('localhost', '127.0.0.1');
  const direct = /unshaped, on (http:\/\/[^/]+)\//.exec(output)?.[1];
  assert.ok(direct, `the start-up message names the app's own address: ${output}`);
  return { served, direct, output: () => output };
}

/** The status a WebSocket handshake to `url` is answered with (101 when upgraded). */
function handshakeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('behind strip-upgrade, a WebSocket handshake gets 426 while polling works', async (t) => {
  const { served, direct, output } = await startBehind(t, ['--intermediary', 'strip-upgrade']);
  assert.match(output(), /intermediary strip-upgrade: drops Upgrade/);
  assert.match(output(), /expect: the .* panels? fails? its handshake/);
  const [upgrading] = withCapabilities({ upgrades: true });
  const [polling] = withCapabilities({ pollsWhenIdle: true });
  assert.ok(upgrading && polling, 'the registry has an upgrading and a polling technique');
  // The same handshake, direct, is upgraded: the 426 is the intermediary's doing.
  assert.equal(await handshakeStatus(`${direct}/api/${upgrading.id}`), 101);
  assert.equal(await handshakeStatus(`${served}/api/${upgrading.id}`), 426);
  const first = await fetch(`${served}/api/${polling.id}`);
  assert.equal(first.status, 200);
  const { epoch, cursor } = (await first.json()) as { epoch: string; cursor: number };
  const sent = await publish(direct, { author: 'test', text: 'through the proxy' });
  const answer = await fetch(`${served}/api/${polling.id}?${cursorQuery({ cursor, epoch })}`);
  assert.equal(answer.status, 200);
  assert.match(await answer.text(), new RegExp(`"id":${sent.id}\\b`));
});

test('behind buffering, a stream shows its first message only once 4 KiB of it have passed', async (t) => {
  const { served, direct } = await startBehind(t, ['--intermediary', 'buffering']);
  const [streamed] = withCapabilities({ streams: true, upgrades: false });
  assert.ok(streamed, 'the registry has a technique streamed over a plain response');
  let body = '';
  let headersAt = 0;
  const stream = get(`${served}/api/${streamed.id}`, (response) => {
    headersAt = performance.now();
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));
  });
  t.after(() => stream.destroy());
  await until(() => headersAt > 0, 'the response headers, which the proxy passes at once');
  await publish(direct, { author: 'test', text: 'first' });
  // Direct, the first message arrives within milliseconds; a whole second shows the hold.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(body, '', 'nothing of the stream passes before 4 KiB');
  const filler = 'x'.repeat(1000);
  for (let i = 0; i < 5; i += 1) await publish(direct, { author: 'test', text: filler });
  await until(
    () => body.includes('first'),
    () => `the held first message, with 4 KiB: got ${body.length} chars`,
  );
  assert.ok(Buffer.byteLength(body) >= 4096, `released as a block of at least 4 KiB, got ${Buffer.byteLength(body)}`);
});

test('with --network too, the intermediary forwards to the shaper: client → intermediary → shaper → app', async (t) => {
  const { served, direct, output } = await startBehind(t, [
    '--network',
    'good-mobile',
    '--intermediary',
    'strip-upgrade',
  ]);
  assert.match(
    output(),
    /intermediary strip-upgrade: .* in front of the shaper on 127\.0\.0\.1:\d+, in front of the app itself/,
  );
  const [upgrading] = withCapabilities({ upgrades: true });
  assert.ok(upgrading);
  assert.equal(await handshakeStatus(`${served}/api/${upgrading.id}`), 426);
  // The quickest of a few: a busy machine only adds to a trip, and the shaping is in every one.
  const quickest = async (url: string) => {
    const trips: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const started = performance.now();
      await (await fetch(`${url}/api/health`)).arrayBuffer();
      if (i >= 2) trips.push(performance.now() - started);
    }
    return Math.min(...trips);
  };
  const added = (await quickest(served)) - (await quickest(direct));
  t.diagnostic(`the path through both adds ${added.toFixed(1)} ms (good-mobile: 50 ms)`);
  assert.ok(added >= 40 && added <= 80, `added ${added.toFixed(1)} ms: the shaper is on the path`);
});

test('an unknown intermediary stops the server at once, naming the known ones', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, '--intermediary', 'firewall'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(result.status, 2);
  assert.match(
    result.stderr,
    /unknown intermediary "firewall"; known: none, buffering, buffering-first, strip-upgrade/,
  );
});
