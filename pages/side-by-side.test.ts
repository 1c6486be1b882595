/**
 * The side-by-side page in a real browser: Debian's Chromium driven by playwright-core,
 * against the real server on port 0. Skipped, loudly, where no Chromium is installed.
 * Which techniques, and what to expect of each, come from the registry and its
 * capabilities: a technique added there is covered here without a word changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from '../test/suite.ts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import { techniqueById, techniqueIds, techniques, withCapabilities } from '../server/contract/techniques.js';
import { HELD_TRANSCRIPT_MESSAGE } from '../server/transcript.ts';
import { publish, startServer } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const TECHNIQUES = techniqueIds;
const TWO_WAY = withCapabilities({ twoWay: true });
const POLLS_WHEN_IDLE = withCapabilities({ pollsWhenIdle: true }).map((technique) => technique.id);
const QUIET_WHEN_IDLE = withCapabilities({ pollsWhenIdle: false }).map((technique) => technique.id);

describe('side-by-side page in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  /**
   * Opens `/` with every console message and page error recorded, and waits for a panel
   * per registered technique, each open (or, for those in `broken`, saying it has no client).
   */
  async function openPage(
    t: import('node:test').TestContext,
    options: { config?: Record<string, unknown>; setUp?: (page: Page) => Promise<void>; broken?: string[] } = {},
  ) {
    const server = await startServer(t, { config: { heartbeatMs: 1000, ...options.config } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const page = await context.newPage();
    await options.setUp?.(page);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' });
    for (const id of TECHNIQUES) {
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: /^(OPEN|NO CLIENT)$/ })
        .waitFor({ timeout: 10_000 });
    }
    // A panel whose client file is missing or broken says so: fail with its words.
    const noClient = await page
      .locator('[data-technique]:has([data-role="error"])')
      .evaluateAll((panels) =>
        panels.map(
          (panel) =>
            `${panel.getAttribute('data-technique')}: ${panel.querySelector('[data-role="error"]')?.textContent}`,
        ),
      );
    assert.deepEqual(
      noClient.map((line) => line.split(':')[0]),
      options.broken ?? [],
      `panels without a client: ${JSON.stringify(noClient)}`,
    );
    return { server, page, problems, noClient };
  }

  /** Message ids shown in one panel, newest last. */
  async function shownIds(page: Page, technique: string): Promise<number[]> {
    const ids = await page
      .locator(`[data-technique="${technique}"] [data-role="messages"] li[data-id]`)
      .evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-id'))));
    return ids.reverse();
  }

  async function allShow(page: Page, ids: number[], which: readonly string[] = TECHNIQUES): Promise<void> {
    for (const id of which) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const shown = await shownIds(page, id);
        if (ids.every((wanted) => shown.includes(wanted))) break;
        if (Date.now() > deadline) assert.fail(`${id} shows ${JSON.stringify(shown)}, wanted ${JSON.stringify(ids)}`);
        await page.waitForTimeout(100);
      }
    }
  }

  async function figure(page: Page, technique: string, name: string): Promise<string> {
    return (await page.locator(`[data-technique="${technique}"] [data-figure="${name}"]`).textContent()) ?? '';
  }

  test('the panels, their headings and links, and the words about them come from the registry', async (t) => {
    const { page, problems } = await openPage(t);
    const panels = await page.locator('section.panel').evaluateAll((sections) =>
      sections.map((section) => {
        const link = section.querySelector('h2 a');
        return {
          id: section.getAttribute('data-technique'),
          title: link?.textContent,
          href: link?.getAttribute('href'),
        };
      }),
    );
    assert.deepEqual(
      panels,
      techniques.map(({ id, title }) => ({ id, title, href: `/techniques/${id}.html` })),
    );
    const words = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    const count = words[techniques.length] ?? String(techniques.length);
    assert.match((await page.locator('.lede').textContent()) ?? '', new RegExp(`^One feed, ${count} ways`));
    const held = withCapabilities({ holdsRequest: true });
    const footer = ((await page.locator('footer').textContent()) ?? '').replace(/\s+/g, ' ');
    assert.match(footer, new RegExp(`holds ${words[held.length] ?? held.length} HTTP connections? open \\(`));
    for (const technique of held)
      assert.ok(
        footer.toLowerCase().includes(technique.title.toLowerCase()),
        `the footer names ${technique.id}: ${footer}`,
      );
    for (const technique of withCapabilities({ holdsRequest: false })) {
      assert.ok(
        !footer.toLowerCase().includes(`${technique.title.toLowerCase()}`),
        `the footer does not name ${technique.id}: ${footer}`,
      );
    }
    const via = await page
      .locator('input[name="via"]')
      .evaluateAll((inputs) => inputs.map((input) => input.getAttribute('value')));
    assert.deepEqual(
      via,
      [...TWO_WAY.map((technique) => technique.id), 'post'],
      'one way to send per two-way technique, and POST',
    );
    assert.equal(await page.locator('#poll-interval-knob').isVisible(), POLLS_WHEN_IDLE.length > 0);
    for (const id of POLLS_WHEN_IDLE)
      assert.match(
        (await page.locator('#poll-interval-knob').textContent()) ?? '',
        new RegExp(techniqueById(id)?.title ?? id),
      );
    assert.deepEqual(problems, []);
  });

  test('a panel whose client file is missing, or exports no Client, says so, and the others still work', async (t) => {
    const [missing, empty] = TECHNIQUES.slice(-2) as [string, string];
    const { server, page, problems, noClient } = await openPage(t, {
      broken: [missing, empty],
      setUp: async (page) => {
        await page.route(`**/clients/${missing}.js`, (route) =>
          route.fulfill({ status: 404, contentType: 'application/json', body: '{}' }),
        );
        await page.route(`**/clients/${empty}.js`, (route) =>
          route.fulfill({ contentType: 'text/javascript', body: 'export const nothing = 1;' }),
        );
      },
    });
    assert.match(noClient[0] ?? '', new RegExp(`^${missing}: No client for .*: .*`));
    assert.match(noClient[1] ?? '', new RegExp(`^${empty}: No client for .*: /clients/${empty}.js exports no Client`));
    for (const id of [missing, empty])
      assert.equal(await page.locator(`[data-technique="${id}"] [data-role="state"]`).textContent(), 'NO CLIENT');
    const message = await publish(server.url, { author: 'ada', text: 'still here' });
    const working = TECHNIQUES.filter((id) => id !== missing && id !== empty);
    await allShow(page, [message.id], working);
    assert.equal(problems.filter((problem) => problem.includes('No client for')).length, 2, JSON.stringify(problems));
  });

  test('the polling interval knob sets the interval of every technique that polls when idle', {
    skip: POLLS_WHEN_IDLE.length === 0 && 'no technique polls when idle',
  }, async (t) => {
    const { page, problems } = await openPage(t);
    await page.waitForTimeout(1500);
    const before = await Promise.all(POLLS_WHEN_IDLE.map(async (id) => Number(await figure(page, id, 'requests'))));
    // The slider's minimum: ten requests a second instead of one.
    await page.locator('#poll-interval').fill('100');
    await page.waitForTimeout(3000);
    for (const [index, id] of POLLS_WHEN_IDLE.entries()) {
      const made = Number(await figure(page, id, 'requests')) - (before[index] ?? 0);
      // At 1000 ms it would be 3 or 4; at 100 ms about 30, less a second of figures' lag.
      assert.ok(made >= 10, `${id} made ${made} requests in 3 s at 100 ms`);
    }
    assert.deepEqual(problems, []);
  });

  test(`a message published from the composer appears in all ${TECHNIQUES.length} panels, once each, in order`, async (t) => {
    const { page, problems } = await openPage(t);
    for (const text of ['first', 'second', 'third']) {
      await page.fill('input[name="text"]', text);
      await page.click('button[type="submit"]');
      await page.locator('#composer-status').filter({ hasText: 'sent' }).waitFor();
    }
    await allShow(page, [1, 2, 3]);
    for (const id of TECHNIQUES) {
      assert.deepEqual(await shownIds(page, id), [1, 2, 3], id);
      const texts = await page
        .locator(`[data-technique="${id}"] [data-role="messages"] li[data-id] span`)
        .allTextContents();
      assert.deepEqual(texts.reverse(), ['first', 'second', 'third'], id);
    }
    assert.deepEqual(problems, []);
  });

  const twoWaySkip = TWO_WAY.length === 0 && 'no two-way technique is registered';
  test('the composer says what the server answered a publish over a two-way connection: the id it stored, or why it refused', {
    skip: twoWaySkip,
  }, async (t) => {
    // One publish a second with no burst: the second in a row is refused with an error frame.
    const { page, problems } = await openPage(t, { config: { publishRatePerClient: 1, publishBurst: 1 } });
    // The first two-way technique is the composer's default.
    await page.fill('input[name="text"]', 'one');
    await page.click('button[type="submit"]');
    await page
      .locator('#composer-status')
      .filter({ hasText: `stored as #1, sent over the ${TWO_WAY[0]?.title}` })
      .waitFor();
    await page.fill('input[name="text"]', 'two');
    await page.click('button[type="submit"]');
    await page
      .locator('#composer-status')
      .filter({ hasText: /not sent: .*faster than its limit/ })
      .waitFor();
    assert.equal(await page.inputValue('input[name="text"]'), 'two', 'a refused text stays in the box, to send again');
    assert.deepEqual(problems, []);
  });

  test('figures move, and only the techniques that poll when idle keep making requests while idle', async (t) => {
    const { server, page, problems } = await openPage(t);
    await publish(server.url, { author: 'ada', text: 'hello' });
    await allShow(page, [1]);
    // The figures come from the server once a second.
    await page.waitForTimeout(1500);
    const before: Record<string, number> = {};
    for (const id of TECHNIQUES) {
      before[id] = Number(await figure(page, id, 'requests'));
      assert.ok(before[id] >= 1, `${id} made a request`);
      assert.match(await figure(page, id, 'down'), /[1-9]/, `${id} bytes down`);
      assert.match(await figure(page, id, 'up'), /[1-9]/, `${id} bytes up`);
      assert.equal(await figure(page, id, 'messages'), '1', `${id} messages`);
    }
    await page.waitForTimeout(3000);
    const idle: Record<string, number> = {};
    for (const id of TECHNIQUES) idle[id] = Number(await figure(page, id, 'requests')) - (before[id] ?? 0);
    for (const id of POLLS_WHEN_IDLE)
      assert.ok((idle[id] ?? 0) >= 2, `${id} polled while idle: ${JSON.stringify(idle)}`);
    for (const id of QUIET_WHEN_IDLE)
      assert.equal(idle[id], 0, `${id} made no request while idle: ${JSON.stringify(idle)}`);
    assert.deepEqual(problems, []);
  });

  test('texts built to break out of a script or a page are shown as text and run nothing', async (t) => {
    const { server, page, problems } = await openPage(t);
    const texts = [
      '</script><script>window.pwned = 1; alert("x")</script>',
      '<!--<script>',
      '<img src=x onerror="window.pwned = 2">',
      'line\u2028separator\u2029end',
    ];
    for (const text of texts) await publish(server.url, { author: 'eve', text });
    await allShow(page, [1, 2, 3, 4]);
    for (const id of TECHNIQUES) {
      const shown = await page
        .locator(`[data-technique="${id}"] [data-role="messages"] li[data-id] span`)
        .allTextContents();
      assert.deepEqual(shown.reverse(), texts, id);
    }
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(problems, []);
  });

  test('"drop connection" on every panel ends with every message present, none twice', async (t) => {
    const { server, page, problems } = await openPage(t);
    let published = 0;
    const publishSome = async (count: number) => {
      for (let i = 0; i < count; i += 1) {
        published += 1;
        await publish(server.url, { author: 'ada', text: `m${published}` });
      }
    };
    await publishSome(3);
    for (const id of TECHNIQUES) await page.click(`[data-technique="${id}"] [data-action="drop"]`);
    // Published while every panel is reconnecting (backoff of at least half a second).
    await publishSome(5);
    const everything = Array.from({ length: published }, (_, i) => i + 1);
    await allShow(page, everything);
    await publishSome(2);
    everything.push(published - 1, published);
    await allShow(page, everything);
    for (const id of TECHNIQUES) assert.deepEqual(await shownIds(page, id), everything, id);
    assert.deepEqual(problems, []);
  });

  test('pausing past the history shows the gap notice on resume, then every message kept', async (t) => {
    const { server, page, problems } = await openPage(t, { config: { historySize: 3 } });
    await publish(server.url, { author: 'ada', text: 'm1' });
    await allShow(page, [1]);
    for (const id of TECHNIQUES) await page.click(`[data-technique="${id}"] [data-action="pause"]`);
    for (let i = 2; i <= 7; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
    for (const id of TECHNIQUES) await page.click(`[data-technique="${id}"] [data-action="pause"]`);
    // History keeps 5, 6, 7: the panels had 1, so 2, 3 and 4 are gone, and they say so.
    await allShow(page, [5, 6, 7]);
    for (const id of TECHNIQUES) {
      assert.deepEqual(await shownIds(page, id), [1, 5, 6, 7], id);
      const notice = await page.locator(`[data-technique="${id}"] li.notice`).allTextContents();
      assert.deepEqual(notice, ['3 messages were too old to recover'], id);
    }
    assert.deepEqual(problems, []);
  });

  test('panels that come back after the server started over, with a new feed past their cursor, say so and show it from #1', async (t) => {
    const { server, page, problems } = await openPage(t);
    for (let i = 1; i <= 3; i += 1) await publish(server.url, { author: 'ada', text: `old ${i}` });
    await allShow(page, [1, 2, 3]);
    for (const id of TECHNIQUES) await page.click(`[data-technique="${id}"] [data-action="pause"]`);
    // A new server where the old one was: a new feed, which counts past the panels'
    // cursor (3) before they come back.
    const { port } = new URL(server.url);
    await server.app.close();
    const again = await startServer(t, { config: { heartbeatMs: 1000, port: Number(port) } });
    // Straight into the new feed: this process's keep-alive connection to the old server
    // may not have seen its close yet, and would be handed an HTTP publish.
    for (let i = 1; i <= 5; i += 1) await again.feed.publish({ author: 'ada', text: `new ${i}` });
    for (const id of TECHNIQUES) await page.click(`[data-technique="${id}"] [data-action="pause"]`);
    const expected = [1, 2, 3, 1, 2, 3, 4, 5];
    for (const id of TECHNIQUES) {
      const deadline = Date.now() + 15_000;
      while ((await shownIds(page, id)).length < expected.length && Date.now() < deadline)
        await page.waitForTimeout(100);
      // Before epochs: [1, 2, 3, 4, 5], and no word of the new 1..3.
      assert.deepEqual(await shownIds(page, id), expected, id);
      const texts = await page
        .locator(`[data-technique="${id}"] [data-role="messages"] li[data-id] span`)
        .allTextContents();
      assert.deepEqual(texts.slice(0, 5).reverse(), ['new 1', 'new 2', 'new 3', 'new 4', 'new 5'], id);
      const notice = await page.locator(`[data-technique="${id}"] li.notice`).allTextContents();
      assert.deepEqual(notice, [`the feed started over (epoch ${again.feed.epoch}): its history from the start`], id);
    }
    // The page's figures poll /api/stats every second: one may have found no server.
    assert.deepEqual(
      problems.filter((problem) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(problem)),
      [],
    );
  });

  test('after going to another page and back, every panel is open and receiving again', async (t) => {
    const { server, page, problems } = await openPage(t);
    const [first] = TECHNIQUES;
    await page.click(`[data-technique="${first}"] h2 a`);
    await page.waitForURL(`${server.url}/techniques/${first}.html`);
    await page.goBack({ waitUntil: 'domcontentloaded' });
    for (const id of TECHNIQUES) {
      await page
        .locator(`[data-technique="${id}"] [data-role="state"]`)
        .filter({ hasText: 'OPEN' })
        .waitFor({ timeout: 10_000 });
    }
    const message = await publish(server.url, { author: 'ada', text: 'after back' });
    await allShow(page, [message.id]);
    assert.deepEqual(problems, []);
  });
});

describe('technique pages in Chromium', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  for (const id of TECHNIQUES) {
    test(`/techniques/${id}.html shows a real transcript, the panel's own client code, and a nav to every other technique`, async (t) => {
      const server = await startServer(t);
      await publish(server.url, { author: 'ada', text: 'shown in the transcript' });
      const page = await browser.newPage();
      t.after(() => page.close());
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await page.goto(`${server.url}/techniques/${id}.html`);
      await page.locator('#transcript-note').filter({ hasText: 'recorded just now' }).waitFor({ timeout: 5000 });
      // A request held without streaming is recorded at the head, held until the recording publishes.
      const capabilities = techniqueById(id)?.capabilities;
      const heldAtHead = capabilities?.holdsRequest && !capabilities.streams;
      assert.match(
        (await page.locator('#transcript-request').textContent()) ?? '',
        new RegExp(`^GET /api/${id}\\?since=${heldAtHead ? 1 : 0}&epoch=${server.feed.epoch} HTTP/1.1`),
      );
      const response = (await page.locator('#transcript-response').textContent()) ?? '';
      assert.match(
        response,
        techniqueById(id)?.capabilities.upgrades ? /^HTTP\/1.1 101 Switching Protocols/ : /^HTTP\/1.1 200 OK/,
      );
      assert.match(response, heldAtHead ? new RegExp(HELD_TRANSCRIPT_MESSAGE.text) : /shown in the transcript/);
      const served = await (await fetch(`${server.url}/clients/${id}.js`)).text();
      await page.locator('#client-code').filter({ hasText: 'export class' }).waitFor();
      assert.equal(await page.locator('#client-code').textContent(), served);
      const nav = await page
        .locator('nav a')
        .evaluateAll((links) => links.map((link) => ({ href: link.getAttribute('href'), text: link.textContent })));
      assert.deepEqual(
        nav.slice(1),
        techniques
          .filter((other) => other.id !== id)
          .map((other) => ({ href: `/techniques/${other.id}.html`, text: other.title })),
        'every other technique',
      );
      assert.equal(nav[0]?.href, '/');
      assert.match(nav[0]?.text ?? '', /^← all \w+ side by side$/);
      assert.deepEqual(errors, []);
    });
  }

  test('/results/ explains how to get results when there are none', async (t) => {
    const empty = await mkdtemp(join(tmpdir(), 'realtime-lab-no-results-'));
    t.after(() => rm(empty, { recursive: true, force: true }));
    const server = await startServer(t, { resultsDir: empty });
    const page = await browser.newPage();
    t.after(() => page.close());
    await page.goto(`${server.url}/results/`);
    assert.match((await page.locator('main').textContent()) ?? '', /npm run bench/);
  });

  test('/results/ draws every chart of the bench run with chart.js', async (t) => {
    // The repo's results/: the committed reference run, or a newer local one.
    const server = await startServer(t);
    const page = await browser.newPage();
    t.after(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(`${server.url}/results/`);
    assert.equal(await page.locator('h1').textContent(), 'realtime-lab bench results');
    const canvases = await page.locator('canvas[data-chart]').count();
    assert.ok(canvases >= 6, `${canvases} charts`);
    // A string: this runs in the page, where the DOM and chart.js's global exist.
    const drawn = await page.evaluate(
      "[...document.querySelectorAll('canvas[data-chart]')].filter((canvas) => Chart.getChart(canvas)).length",
    );
    assert.equal(drawn, canvases, 'chart.js drew every canvas');
    assert.ok((await page.locator('tbody tr').count()) >= 5, 'the table has a row per technique');
    assert.deepEqual(errors, []);
  });
});
