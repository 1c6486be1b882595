/**
 * nginx in front, as docs/scale-out.md configures it, but with `proxy_buffering on` (its
 * own default): the streams still arrive message by message, because they send
 * `X-Accel-Buffering: no`. Proof that the header is what does it: told to ignore it, the
 * same nginx holds the whole response, headers included, until its 4 KiB buffer fills.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { withCapabilities } from '../../server/contract/techniques.js';
import { publish, startServer, until } from '../../test/support.ts';
import { describe, test } from '../../test/suite.ts';
import { NGINX, needs } from '../../test/tools.ts';
import { type NginxOptions, startNginx } from './nginx.ts';
import { rawGet } from './raw-response.ts';

/** nginx's proxy_buffer_size on this platform: one memory page. */
const NGINX_BUFFER = 4096;
/** More than the server's response headers take of that buffer (about 250 bytes). */
const HEADERS_ROOM = 500;

async function behindNginx(t: TestContext, options: NginxOptions) {
  const server = await startServer(t);
  const nginx = await startNginx(new URL(server.url).host, options);
  t.after(() => nginx.stop());
  return { server, nginx };
}

async function lastId(url: string): Promise<number> {
  return ((await (await fetch(`${url}/api/health`)).json()) as { lastId: number }).lastId;
}

describe('nginx with proxy_buffering on', needs(NGINX), () => {
  for (const technique of withCapabilities({ streams: true, upgrades: false })) {
    test(`${technique.id}: X-Accel-Buffering: no gets every message through at once`, async (t) => {
      const { server, nginx } = await behindNginx(t, { buffering: true });
      // From the cursor: a message published before nginx has the stream open upstream is replayed, not missed.
      const stream = rawGet(`${nginx.url}/api/${technique.id}?since=${await lastId(server.url)}`);
      t.after(() => stream.close());
      // Not awaited first: a buffering nginx would hold the headers too, and the wait below says so.
      for (let i = 0; i < 3; i++) {
        const message = await publish(server.url, { author: 'bench', text: `one of three ${i}` });
        await until(() => stream.body().includes(`"id":${message.id},`), `message ${message.id} through nginx`);
      }
      assert.equal(await stream.status, 200);
      assert.ok(stream.bytes() < NGINX_BUFFER, 'arrived long before a buffer could fill');
    });

    test(`${technique.id}: ignoring X-Accel-Buffering, nginx holds everything, headers too, until ${NGINX_BUFFER} bytes`, async (t) => {
      const { server, nginx } = await behindNginx(t, { buffering: true, ignoreAccelBuffering: true });
      const since = await lastId(server.url);
      const direct = rawGet(`${server.url}/api/${technique.id}?since=${since}`);
      const stream = rawGet(`${nginx.url}/api/${technique.id}?since=${since}`);
      t.after(() => {
        direct.close();
        stream.close();
      });
      let status: number | undefined;
      void stream.status.then((s) => (status = s));
      let published = 0;
      while (direct.bytes() < NGINX_BUFFER) {
        const message = await publish(server.url, { author: 'bench', text: `message ${published} ${'x'.repeat(100)}` });
        published += 1;
        await until(() => direct.body().includes(`"id":${message.id},`), `message ${message.id} on the direct stream`);
        if (published === 3) await new Promise((resolve) => setTimeout(resolve, 300));
        // The buffer holds the server's response headers as well as the body.
        if (direct.bytes() < NGINX_BUFFER - HEADERS_ROOM) {
          assert.equal(status, undefined, `nginx sent the headers with ${direct.bytes()} bytes sent`);
          assert.equal(stream.bytes(), 0);
        }
      }
      assert.equal(await stream.status, 200);
      await until(() => stream.bytes() > 0, 'the first lump once the buffer filled');
    });
  }
});
