/**
 * The pages over HTTPS and HTTP/2 in Chromium, as `npm start -- --tls` serves them, with
 * Chromium started the way the start lines say (`--ignore-certificate-errors-spki-list`
 * with the certificate's key hash, not a blanket "ignore HTTPS errors"): the side-by-side
 * page in several tabs at once, which over HTTP/1.1 would stall on the six connections
 * per host, and the WebSocket lab over wss://.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniqueIds, withCapabilities } from '../server/contract/techniques.js';
import { after, before, describe, test } from '../test/suite.ts';
import { startServer, testCertificate } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

/** Tabs of the side-by-side page open at once: their held requests are twice the six per host of HTTP/1.1. */
const TABS = 4;
const WAIT = { timeout: 10_000 };
/** Techniques whose every request ends (a poll, a held poll answered): each leaves a Resource Timing entry. */
const REQUESTS_END = withCapabilities({ streams: false, upgrades: false }).map((technique) => technique.id);
const HELD = withCapabilities({ holdsRequest: true });

describe('the pages over HTTPS and HTTP/2 in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    // The certificate every TLS test server of this process serves (test/support.ts).
    const certificate = await testCertificate();
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${certificate.spkiSha256}`]);
  });
  after(async () => {
    await browser?.close();
  });

  /**
   * The app with TLS on port 0, and what reached it: each TLS connection's ALPN protocol
   * and the Origin of each WebSocket handshake.
   */
  async function startTlsServer(t: import('node:test').TestContext) {
    const lab = await startServer(t, { tls: 'h2', config: { heartbeatMs: 1000 } });
    const alpn: string[] = [];
    const handshakeOrigins: string[] = [];
    lab.app.server.on('secureConnection', (socket: TLSSocket) => alpn.push(String(socket.alpnProtocol)));
    lab.app.server.on('upgrade', (request: IncomingMessage) => handshakeOrigins.push(request.headers.origin ?? ''));
    return { ...lab, port: Number(new URL(lab.url).port), alpn, handshakeOrigins };
  }

  test(`the side-by-side page in ${TABS} tabs at once: one HTTP/2 connection, every panel gets the message once`, async (t) => {
    // Closed before the server (after-hooks run in order): the browser's idle HTTP/2
    // session would otherwise hold the server's close.
    const context = await browser.newContext();
    t.after(() => context.close());
    const server = await startTlsServer(t);
    const url = `https://127.0.0.1:${server.port}/`;
    const problems: string[] = [];
    const sockets: string[] = [];
    const tabs = await Promise.all(
      Array.from({ length: TABS }, async () => {
        const page = await context.newPage();
        page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(`console: ${message.text()}`);
        });
        page.on('websocket', (socket) => sockets.push(socket.url()));
        page.on('response', (response) => {
          if (response.status() >= 500) problems.push(`${response.status()} from ${response.url()}`);
        });
        return page;
      }),
    );
    await Promise.all(tabs.map((page) => page.goto(url, { waitUntil: 'domcontentloaded' })));
    for (const page of tabs)
      for (const id of techniqueIds)
        await page
          .locator(`[data-technique="${id}"] [data-role="state"]`)
          .filter({ hasText: /^OPEN$/ })
          .waitFor(WAIT);

    const text = `over h2 ${Date.now()}`;
    const id = await (tabs[0] as Page).evaluate(async (text) => {
      const response = await fetch('/api/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'https-test', text }),
      });
      const { id } = (await response.json()) as { id: number };
      return id;
    }, text);
    for (const [index, page] of tabs.entries()) {
      for (const technique of techniqueIds) {
        const item = page.locator(`[data-technique="${technique}"] [data-role="messages"] li[data-id="${id}"]`);
        await item.first().waitFor(WAIT);
        assert.equal(await item.count(), 1, `tab ${index}, ${technique}: #${id} shown once`);
      }
    }

    for (const [index, page] of tabs.entries()) {
      assert.equal(await page.locator('#page-protocol').textContent(), 'h2', `tab ${index}: the page came over h2`);
      assert.ok(await page.locator('#tab-notice').isHidden(), `tab ${index} shows the second-tab notice`);
      assert.match((await page.locator('#connections-note').textContent()) ?? '', /^Over HTTP\/2/);
      // A poll's entry is written when it ends: the long poll's when the message answered it.
      for (const technique of REQUESTS_END) {
        const protocol = page.locator(`[data-technique="${technique}"] [data-figure="protocol"]`);
        await protocol.and(page.locator('[data-protocols]')).waitFor(WAIT);
        assert.equal(await protocol.getAttribute('data-protocols'), 'h2', `tab ${index}, ${technique}`);
      }
    }
    // Every tab's WebSockets (one per panel that upgrades, at least) went over wss://, each
    // on an HTTP/1.1 connection of its own.
    const upgrades = withCapabilities({ upgrades: true }).length;
    assert.ok(sockets.length >= TABS * upgrades, JSON.stringify(sockets));
    for (const socket of sockets) assert.match(socket, /^wss:\/\/127\.0\.0\.1:\d+\//);
    // Everything else, from every tab, on one HTTP/2 connection: TABS × HELD held requests
    // would queue behind the six per host over HTTP/1.1.
    assert.ok(TABS * HELD.length > 6);
    assert.deepEqual(
      server.alpn.filter((protocol) => protocol === 'h2'),
      ['h2'],
      `connections by ALPN: ${server.alpn}`,
    );
    assert.equal(server.alpn.filter((protocol) => protocol === 'http/1.1').length, sockets.length);
    assert.deepEqual(problems, []);
  });

  test('a technique page over https says its transcript is the HTTP/1.1 exchange, and which protocol the browser used', async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const server = await startTlsServer(t);
    const page = await context.newPage();
    const [technique] = REQUESTS_END;
    await page.goto(`https://127.0.0.1:${server.port}/techniques/${technique}.html`);
    const note = page.locator('#transcript-note', { hasText: /came back/ });
    await note.waitFor(WAIT);
    assert.match(
      (await note.textContent()) ?? '',
      /over http\/1\.1 over TLS: .*Your browser came over h2: .*this is the HTTP\/1\.1 exchange/,
    );
  });

  test('the WebSocket lab over https: a wss:// echo, and a closed port and a foreign origin that mean what they say', async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const server = await startTlsServer(t);
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/.test(message.text())) violations.push(message.text());
    });
    await page.goto(`https://localhost:${server.port}/websocket-lab.html`);
    await page.waitForSelector('html[data-ready="true"]', { ...WAIT, state: 'attached' });
    const log = page.locator('#log li');

    await page.click('#open');
    await log.filter({ hasText: /new WebSocket\s+wss:\/\/localhost:\d+\/api\/echo/ }).waitFor(WAIT);
    await page.locator('#log li[data-event="open"]').waitFor(WAIT);
    await page.click('#send-text');
    await page.locator('#log li[data-event="message"]', { hasText: 'hello, echo' }).waitFor(WAIT);

    // The closed port fails as a refused connection, not as a CSP violation.
    await page.click('#clear-log');
    await page.fill('#closed-port', String(await closedPort()));
    await page.click('#fail-port');
    await page.locator('#log li[data-event="close"]', { hasText: /code 1006/ }).waitFor(WAIT);

    // The foreign page (https://127.0.0.1) reaches the server, which refuses its Origin.
    await page.click('#clear-log');
    await page.click('#fail-origin');
    await page.locator('#log li[data-event="close"][data-source^="foreign page https://127.0.0.1:"]').waitFor(WAIT);
    assert.ok(
      server.handshakeOrigins.includes(`https://127.0.0.1:${server.port}`),
      `handshakes seen from: ${server.handshakeOrigins}`,
    );
    assert.deepEqual(violations, []);
  });
});

/** A loopback port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
