/**
 * The idle-cutting proxy closes what stays silent past its limit, whatever it carries: an
 * HTTP stream lives through it on heartbeats shorter than the limit and dies without them;
 * a WebSocket lives on the server's pings.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { withCapabilities } from '../../server/contract/techniques.js';
import { startServer, until } from '../../test/support.ts';
import { describe, test } from '../../test/suite.ts';
import { IdleCutProxy } from './idle-cut-proxy.ts';
import { rawGet } from './raw-response.ts';

const IDLE_MS = 1000;
const SURVIVES_MS = 2500;

async function setup(t: TestContext, heartbeatMs: number) {
  const server = await startServer(t, { config: { heartbeatMs } });
  const proxy = await IdleCutProxy.start({ host: '127.0.0.1', port: Number(new URL(server.url).port) }, IDLE_MS);
  t.after(() => proxy.close());
  return { server, proxy };
}

describe(`the idle-cutting proxy (${IDLE_MS} ms)`, () => {
  for (const technique of withCapabilities({ streams: true, upgrades: false })) {
    test(`${technique.id}: heartbeats every 300 ms keep the stream alive past ${SURVIVES_MS} ms`, async (t) => {
      const { proxy } = await setup(t, 300);
      const stream = rawGet(`${proxy.url}/api/${technique.id}`);
      t.after(() => stream.close());
      assert.equal(await stream.status, 200);
      await new Promise((resolve) => setTimeout(resolve, SURVIVES_MS));
      assert.equal(stream.ended(), false, 'the stream was cut');
      assert.equal(proxy.stats.cut, 0);
    });

    test(`${technique.id}: without a heartbeat within the limit the stream is cut`, async (t) => {
      const { proxy } = await setup(t, 60_000);
      const stream = rawGet(`${proxy.url}/api/${technique.id}`);
      t.after(() => stream.close());
      assert.equal(await stream.status, 200);
      const opened = performance.now();
      await until(() => stream.ended(), 'the cut', 5000);
      assert.ok(performance.now() - opened >= IDLE_MS * 0.9, 'cut only once idle for the limit');
      assert.equal(proxy.stats.cut, 1);
    });
  }

  for (const technique of withCapabilities({ upgrades: true })) {
    test(`${technique.id}: the server's pings every 300 ms keep it open; with none it is closed`, async (t) => {
      for (const [heartbeatMs, survives] of [
        [300, true],
        [60_000, false],
      ] as const) {
        const { proxy } = await setup(t, heartbeatMs);
        const socket = new WebSocket(`${proxy.url.replace(/^http/, 'ws')}/api/${technique.id}`);
        t.after(() => socket.terminate());
        await once(socket, 'open');
        let closed = false;
        socket.once('close', () => (closed = true));
        await new Promise((resolve) => setTimeout(resolve, SURVIVES_MS));
        assert.equal(closed, !survives, `heartbeat ${heartbeatMs} ms`);
        assert.equal(proxy.stats.cut, survives ? 0 : 1);
      }
    });
  }
});
