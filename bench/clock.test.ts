import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SAME_MACHINE_CLOCK_MS, healthNow, localNow, sameMachineClock, startedServerClock } from './clock.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(() => server.stop());

test("a server process the bench starts reads this process's clock: its now falls between the request and the answer, to the bound sameMachineClock claims", async () => {
  const clock = sameMachineClock();
  assert.equal(clock.offsetMs, 0);
  for (let sample = 0; sample < 40; sample += 1) {
    const { sent, now, received } = await healthNow(server.baseUrl);
    // Whatever the round trip took (a busy machine only widens it), the server read its
    // clock after the request left and before the answer came back, on one clock.
    assert.ok(
      now >= sent - SAME_MACHINE_CLOCK_MS && now <= received + SAME_MACHINE_CLOCK_MS,
      `sample ${sample}: the server's now ${now} is outside [${sent}, ${received}] by more than ${SAME_MACHINE_CLOCK_MS} ms`,
    );
  }
});

test("startedServerClock: the bench's own clock for a server on it; an offset measured for a clock that is not", async (t) => {
  const same = await startedServerClock(server.baseUrl);
  assert.equal(same.offsetMs, 0);
  assert.equal(same.uncertaintyMs, SAME_MACHINE_CLOCK_MS);
  // A server whose clock was stepped 50 ms ahead: its now is never between request and answer.
  const STEP_MS = 50;
  const stepped = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ now: localNow() + STEP_MS }));
  });
  stepped.listen(0, '127.0.0.1');
  await new Promise((resolve) => stepped.once('listening', resolve));
  t.after(() => stepped.close());
  const measured = await startedServerClock(`http://127.0.0.1:${(stepped.address() as AddressInfo).port}`);
  assert.ok(
    Math.abs(measured.offsetMs - STEP_MS) <= measured.uncertaintyMs + 1,
    `offset ${measured.offsetMs} ms, expected ${STEP_MS} within ${measured.uncertaintyMs} ms`,
  );
});
