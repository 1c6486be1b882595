/**
 * `npm start -- --network PROFILE`: the real entry point, started with a profile, serves
 * through the shaper; a client measures the round trip the profile adds against the
 * app's own, unshaped, internal port.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NETWORK_PROFILES } from '../bench/network/profiles.ts';
import { until } from '../test/support.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** The median time of `count` GET /api/health on one keep-alive connection, ms. */
async function healthTrip(url: string, count: number): Promise<number> {
  const trips: number[] = [];
  for (let i = 0; i < count + 2; i += 1) {
    const started = performance.now();
    const response = await fetch(`${url}/api/health`);
    await response.arrayBuffer();
    assert.equal(response.status, 200);
    // The first two open the connection (the handshake's trip) and warm the paths.
    if (i >= 2) trips.push(performance.now() - started);
  }
  // The quickest: a busy machine only ever adds to a trip, and the shaping is in every one.
  return Math.min(...trips);
}

for (const [how, args, env] of [
  ['--network', ['--network', 'good-mobile'], {}],
  ['NETWORK', [], { NETWORK: 'good-mobile' }],
] as const) {
  test(`${how} good-mobile serves the pages and API through the shaper, its round trip added`, async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    t.after(() => child.kill('SIGKILL'));
    await until(() => /serving http:\/\/[^/]+\//.test(output), 'the server to say where it serves', 15_000);
    const shaped = /serving (http:\/\/[^/]+)\//.exec(output)?.[1] as string;
    const direct = /unshaped, on (http:\/\/[^/]+)\//.exec(output)?.[1];
    assert.ok(direct, `the start-up message names the unshaped port: ${output}`);
    assert.match(output, /network good-mobile \(RTT 50 ms/);
    const page = await fetch(`${shaped}/`);
    assert.equal(page.status, 200);
    await page.arrayBuffer();
    const rttMs = NETWORK_PROFILES['good-mobile'].rttMs;
    const added = (await healthTrip(shaped, 15)) - (await healthTrip(direct, 15));
    t.diagnostic(`good-mobile adds ${added.toFixed(1)} ms to a request (configured round trip ${rttMs} ms)`);
    // The allowance holds the profile's jitter (±5 ms each way, the later of a response's
    // chunks setting its arrival), its bandwidth (a few hundred bytes at 10 Mbit/s) and the
    // server's event loop, which runs the shaper too, on a busy machine. Neither no
    // shaping (0 ms) nor a new connection per request (a second trip: 100 ms) fits in it.
    assert.ok(Math.abs(added - rttMs) <= 12, `added ${added.toFixed(1)} ms, configured ${rttMs} ms`);
  });
}

test('an unknown profile stops the server at once, naming the known ones', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, '--network', 'dial-up'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /unknown network profile "dial-up"; known: lan, good-mobile, poor-mobile, satellite/);
});
