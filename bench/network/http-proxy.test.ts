/**
 * The HTTP-aware proxies do what they claim, with the real server and real clients: the
 * buffering one holds a stream until it has the bytes it waits for (and a poll's answer,
 * which ends, not at all), keep-alive and pipelined requests pass in order, and the
 * Upgrade-stripping one turns a WebSocket handshake into the server's 426.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { withCapabilities } from '../../server/contract/techniques.js';
import { publish, startServer, until } from '../../test/support.ts';
import { describe, test } from '../../test/suite.ts';
import { HttpProxy } from './http-proxy.ts';
import { rawGet } from './raw-response.ts';

const HOLD = 4096;
const httpStreams = withCapabilities({ streams: true, upgrades: false });
const heldPolls = withCapabilities({ holdsRequest: true, streams: false });
const upgrading = withCapabilities({ upgrades: true });

async function setup(t: import('node:test').TestContext, options: ConstructorParameters<typeof Object>[0] = {}) {
  const server = await startServer(t);
  const { port } = new URL(server.url);
  const proxy = await HttpProxy.start({ host: '127.0.0.1', port: Number(port) }, options);
  t.after(() => proxy.close());
  return { server, proxy };
}

describe('the buffering proxy (every 4 KiB)', () => {
  for (const technique of httpStreams) {
    test(`${technique.id}: headers pass at once, the body only once the server has sent ${HOLD} bytes`, async (t) => {
      const { server, proxy } = await setup(t, { holdBytes: HOLD, hold: 'every' });
      const direct = rawGet(`${server.url}/api/${technique.id}`);
      const proxied = rawGet(`${proxy.url}/api/${technique.id}`);
      t.after(() => {
        direct.close();
        proxied.close();
      });
      assert.equal(await direct.status, 200);
      assert.equal(await proxied.status, 200, 'the response headers are not held');
      let published = 0;
      while (direct.bytes() < HOLD) {
        const message = await publish(server.url, { author: 'bench', text: `message ${published} ${'x'.repeat(100)}` });
        published += 1;
        await until(() => direct.body().includes(`"id":${message.id},`), `message ${message.id} on the direct stream`);
        // A fair chance for the proxy to pass on what it has, were it passing anything on.
        if (published === 3) await new Promise((resolve) => setTimeout(resolve, 200));
        if (direct.bytes() < HOLD)
          assert.equal(proxied.bytes(), 0, `the proxy passed bytes on with ${direct.bytes()} sent`);
      }
      await until(() => proxied.bytes() >= direct.bytes(), 'the held bytes, once the hold filled');
      assert.equal(proxied.body(), direct.body(), 'what was held is passed on whole, in order');
      assert.ok(published > 3, `the hold took ${published} messages to fill`);
    });
  }

  for (const technique of heldPolls) {
    test(`${technique.id}: an answer that ends passes at once, held only until its end`, async (t) => {
      const { server, proxy } = await setup(t, { holdBytes: HOLD, hold: 'every' });
      const lastId = ((await (await fetch(`${server.url}/api/health`)).json()) as { lastId: number }).lastId;
      const answer = fetch(`${proxy.url}/api/${technique.id}?since=${lastId}`).then((r) => r.json());
      await new Promise((resolve) => setTimeout(resolve, 100));
      const message = await publish(server.url, { author: 'bench', text: 'short' });
      // Long before the hold's timeout: the proxy let the short answer go when it ended.
      const body = (await answer) as { messages: { id: number }[] };
      assert.deepEqual(
        body.messages.map((m) => m.id),
        [message.id],
      );
    });
  }
});

test('keep-alive and pipelined requests pass through one connection, answered in order', async (t) => {
  const { proxy } = await setup(t, { holdBytes: HOLD, hold: 'every' });
  const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const host = new URL(proxy.url).host;
  // Both requests in one write: the second is pipelined behind the first.
  socket.write(`GET /api/stats HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /api/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  await until(() => (text.match(/HTTP\/1\.1 200/g) ?? []).length === 2 && text.trimEnd().endsWith('}'), 'two answers');
  const [, first = '', second = ''] = text.split('HTTP/1.1 200');
  assert.ok(
    first.includes('"techniques"') && !second.includes('"techniques"'),
    'the answers come back in the order asked',
  );
  // Keep-alive: a third request on the same connection is answered too.
  text = '';
  socket.write(`GET /api/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  await until(() => text.includes('"lastId"') && text.trimEnd().endsWith('}'), 'a third answer on the kept connection');
  assert.equal(proxy.stats.connections, 1);
  assert.equal(proxy.stats.requests, 3);
});

describe('the Upgrade-stripping proxy', () => {
  for (const technique of upgrading) {
    test(`${technique.id}: the handshake reaches the server as a plain GET and gets its 426`, async (t) => {
      const { proxy } = await setup(t, { stripUpgrade: true });
      const socket = new WebSocket(`${proxy.url.replace(/^http/, 'ws')}/api/${technique.id}`);
      socket.on('error', () => undefined);
      const outcome = await new Promise<number | 'open'>((resolve) => {
        socket.once('unexpected-response', (_req, response) => resolve(response.statusCode ?? 0));
        socket.once('open', () => resolve('open'));
      });
      assert.equal(outcome, 426);
      assert.deepEqual(proxy.stats.statuses, { 426: 1 });
      assert.equal(proxy.stats.upgradesStripped, 1);
      socket.terminate();
    });

    test(`${technique.id}: a proxy that knows Upgrade tunnels it, and messages flow`, async (t) => {
      const { server, proxy } = await setup(t, { holdBytes: HOLD, hold: 'every' });
      const socket = new WebSocket(`${proxy.url.replace(/^http/, 'ws')}/api/${technique.id}`);
      t.after(() => socket.terminate());
      const frames: string[] = [];
      socket.on('message', (data) => frames.push(data.toString()));
      await once(socket, 'open');
      const message = await publish(server.url, { author: 'bench', text: 'through the tunnel' });
      await until(() => frames.some((f) => f.includes(`"id":${message.id},`)), 'the message through the tunnel');
      assert.equal(proxy.stats.upgradesTunnelled, 1);
    });
  }
});
