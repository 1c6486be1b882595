/**
 * The WebSocket handshake explained on the technique page of every technique that
 * upgrades, and cross-site WebSocket hijacking refused, in Chromium against the real server.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { withCapabilities } from '../server/contract/techniques.js';
import { after, before, describe, test } from '../test/suite.ts';
import { startServer } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const UPGRADES = withCapabilities({ upgrades: true }).map((technique) => technique.id);

describe('the WebSocket handshake in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  for (const id of UPGRADES) {
    test(`/techniques/${id}.html computes Sec-WebSocket-Accept from the key, equal to the server's, and shows refused handshakes`, async (t) => {
      const server = await startServer(t);
      const page = await browser.newPage();
      t.after(() => page.close());
      await page.goto(`${server.url}/techniques/${id}.html`);
      await page.locator('#handshake-verdict').filter({ hasText: /\S/ }).waitFor({ timeout: 5000 });
      const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';
      const request = await text('#transcript-request');
      const response = await text('#transcript-response');
      const key = /\r?\nSec-WebSocket-Key: (\S+)/.exec(request)?.[1];
      const sent = /\r?\nSec-WebSocket-Accept: (\S+)/.exec(response)?.[1];
      assert.ok(key && sent, `a key and an accept in the transcript:\n${request}\n${response}`);
      assert.equal(await text('#handshake-key'), key);
      assert.equal(await text('#handshake-concatenated'), `${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`);
      assert.match(await text('#handshake-sha1'), /^([0-9a-f]{2} ){19}[0-9a-f]{2}$/);
      assert.equal(await text('#handshake-computed-accept'), sent, "computed in the page: the server's own");
      assert.equal(await text('#handshake-server-accept'), sent);
      assert.match(await text('#handshake-verdict'), /^✓/);
      assert.equal(await text('#handshake-offered'), 'realtime-lab.v1.json');
      assert.equal(await text('#handshake-chosen'), 'realtime-lab.v1.json');
      assert.match(await text('#refused-request'), /\r?\nOrigin: https:\/\/foreign\.invalid\r?\n/);
      assert.match(await text('#refused-response'), /^HTTP\/1.1 403 Forbidden\r?\n[\s\S]*RTL_FORBIDDEN_ORIGIN/);
      assert.match(await text('#version-request'), /\r?\nSec-WebSocket-Version: 7\r?\n/);
      assert.match(await text('#version-response'), /^HTTP\/1.1 4\d\d [\s\S]*\r?\nSec-WebSocket-Version: 13\b/);
    });

    test(`a page on another origin opening /api/${id} gets error and close 1006, the server a 403 (cross-site WebSocket hijacking)`, async (t) => {
      const log: Array<Record<string, unknown>> = [];
      const server = await startServer(t, {
        config: { logLevel: 'debug' },
        logStream: { write: (line) => log.push(JSON.parse(line)) },
      });
      // A foreign site: another port is another origin; loopback, so Local Network Access stays out of it.
      const foreign = createServer((_request, response) => {
        response.setHeader('content-type', 'text/html');
        response.end('<!doctype html><title>another site</title>');
      });
      await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise((resolve) => foreign.close(resolve)));
      const foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`;
      const page = await browser.newPage();
      t.after(() => page.close());
      const consoleLines: string[] = [];
      page.on('console', (message) => consoleLines.push(message.text()));
      await page.goto(foreignUrl);
      const socketUrl = `${server.url.replace(/^http/, 'ws')}/api/${id}`;
      const seen = await page.evaluate(
        (url) =>
          new Promise<{ events: string[]; code: number; reason: string; wasClean: boolean }>((resolve) => {
            const events: string[] = [];
            const socket = new WebSocket(url);
            // Were it let in, close it at once so the test ends and says so.
            socket.onopen = () => {
              events.push('open');
              socket.close();
            };
            socket.onerror = () => events.push('error');
            socket.onclose = (event) =>
              resolve({
                events: [...events, 'close'],
                code: event.code,
                reason: event.reason,
                wasClean: event.wasClean,
              });
          }),
        socketUrl,
      );
      assert.deepEqual(
        seen,
        { events: ['error', 'close'], code: 1006, reason: '', wasClean: false },
        'all the page learns',
      );
      const refusal = log.find((line) => (line.err as { code?: string } | undefined)?.code === 'RTL_FORBIDDEN_ORIGIN');
      assert.ok(refusal, 'the server refused the handshake for its Origin');
      assert.equal((refusal.res as { statusCode?: number } | undefined)?.statusCode, 403);
      assert.match(String((refusal.err as { message?: string }).message), new RegExp(foreignUrl.slice(0, -1)));
      assert.ok(
        consoleLines.some((line) => /403/.test(line)),
        `the developer tools' console names the 403: ${consoleLines.join(' | ')}`,
      );
    });
  }
});
