/**
 * What the `padding=BYTES` prelude defeats, and what it does not, proved through the
 * buffering proxy with the real server: a proxy that holds only the first 4 KiB of a
 * response (a content sniffer) passes the first message at once after a 4 KiB prelude and
 * holds it without one; a proxy that holds every 4 KiB holds the message after the
 * prelude all the same (nothing the server sends defeats it, short of 4 KiB per message).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { MAX_STREAM_PADDING_BYTES } from '../../server/contract/defaults.js';
import { withCapabilities } from '../../server/contract/techniques.js';
import { publish, startServer, until } from '../../test/support.ts';
import { describe, test } from '../../test/suite.ts';
import { HttpProxy, type HttpProxyOptions } from './http-proxy.ts';
import { rawGet } from './raw-response.ts';

const HOLD = 4096;
/** Long enough for the proxy to pass on a message, were it passing anything on. */
const FAIR_CHANCE_MS = 300;

async function setup(t: TestContext, options: HttpProxyOptions) {
  const server = await startServer(t);
  const proxy = await HttpProxy.start({ host: '127.0.0.1', port: Number(new URL(server.url).port) }, options);
  t.after(() => proxy.close());
  return { server, proxy };
}

describe('the padding prelude', () => {
  for (const technique of withCapabilities({ streams: true, upgrades: false })) {
    test(`${technique.id}: padding=${HOLD} gets the first message through a proxy that holds the first ${HOLD} bytes`, async (t) => {
      const { server, proxy } = await setup(t, { holdBytes: HOLD, hold: 'first' });
      const padded = rawGet(`${proxy.url}/api/${technique.id}?padding=${HOLD}`);
      const plain = rawGet(`${proxy.url}/api/${technique.id}`);
      t.after(() => {
        padded.close();
        plain.close();
      });
      assert.equal(await padded.status, 200);
      assert.equal(await plain.status, 200);
      const message = await publish(server.url, { author: 'bench', text: 'the first message' });
      await until(() => padded.body().includes(`"id":${message.id},`), 'the first message after the padding');
      await new Promise((resolve) => setTimeout(resolve, FAIR_CHANCE_MS));
      assert.equal(plain.bytes(), 0, 'without padding the proxy still holds the stream');
    });

    test(`${technique.id}: no padding defeats a proxy that holds every ${HOLD} bytes`, async (t) => {
      const { server, proxy } = await setup(t, { holdBytes: HOLD, hold: 'every' });
      const padded = rawGet(`${proxy.url}/api/${technique.id}?padding=${HOLD}`);
      t.after(() => padded.close());
      assert.equal(await padded.status, 200);
      // The prelude fills the first hold, and passes.
      await until(() => padded.bytes() >= HOLD, 'the prelude');
      const before = padded.bytes();
      await publish(server.url, { author: 'bench', text: 'held behind the prelude' });
      await new Promise((resolve) => setTimeout(resolve, FAIR_CHANCE_MS));
      assert.equal(padded.bytes(), before, 'the message after the prelude is held');
    });
  }

  test('a padding past the limit is a 400', async (t) => {
    const server = await startServer(t);
    for (const technique of withCapabilities({ streams: true, upgrades: false })) {
      for (const bad of [String(MAX_STREAM_PADDING_BYTES + 1), '-1', 'lots']) {
        const response = await fetch(`${server.url}/api/${technique.id}?padding=${bad}`);
        assert.equal(response.status, 400, `${technique.id} padding=${bad}`);
        assert.equal(((await response.json()) as { code: string }).code, 'RTL_BAD_PADDING');
      }
    }
  });
});
