import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import type { Message } from '../message.ts';
import type { ControlEvent } from '../transport.ts';
import { publish, startServer } from '../../test/support.ts';
import { escapeForScript } from '../contract/formats/script-stream.js';

/** Reads the document until `done(html)` holds or it ends; returns the HTML read. */
async function readDocument(
  url: string,
  done: (html: string) => boolean = () => false,
): Promise<{ html: string; response: Response }> {
  const response = await fetch(url);
  const reader = response.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  let html = '';
  for (;;) {
    if (done(html)) {
      await reader.cancel();
      break;
    }
    const { value, done: ended } = await reader.read();
    if (ended) break;
    html += decoder.decode(value, { stream: true });
  }
  return { html, response };
}

/** Runs every <script> of the document in a context that plays the parent page. */
function runScripts(html: string) {
  const received: Message[] = [];
  const events: ControlEvent[] = [];
  const context = vm.createContext({
    parent: {
      onFeedMessage: (message: Message) => received.push(structuredClone(message)),
      onFeedEvent: (event: ControlEvent) => events.push(structuredClone(event)),
    },
    // If an injected script ran, it would call one of these.
    alert: () => {
      throw new Error('injected script ran');
    },
  });
  for (const match of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) vm.runInContext(match[1] ?? '', context);
  return { received, events, pwned: vm.runInContext('typeof pwned', context) !== 'undefined' };
}

const HOSTILE = [
  '</script><script>alert(1); var pwned = 1</script>',
  '<!--<script>',
  '</SCRIPT ><script>var pwned = 2</script>',
  'a & b > c < d',
  'line\u2028separator\u2029paragraph',
];

test("the document is HTML in UTF-8 that only this server's pages may frame", async (t) => {
  const server = await startServer(t);
  const { response } = await readDocument(`${server.url}/api/forever-iframe`, (html) => html.includes('</script>'));
  assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('content-security-policy'), "frame-ancestors 'self'");
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
});

test('hostile texts are written with no raw <, >, &, U+2028 or U+2029 inside a script', async (t) => {
  const server = await startServer(t);
  for (const text of HOSTILE) await publish(server.url, { author: 'eve', text });
  const { html } = await readDocument(
    `${server.url}/api/forever-iframe?since=0`,
    (seen) => seen.split('<script>m(').length > HOSTILE.length,
  );
  const scripts = [...html.matchAll(/<script>m\(([\s\S]*?)\)<\/script>/g)].map((match) => match[1] ?? '');
  assert.equal(scripts.length, HOSTILE.length);
  for (const body of scripts) assert.doesNotMatch(body, /[<>&\u2028\u2029]/);
});

test('hostile texts arrive unchanged in the parent page and run nothing', async (t) => {
  const server = await startServer(t);
  const published = [];
  for (const text of HOSTILE) published.push(await publish(server.url, { author: 'eve', text }));
  const { html } = await readDocument(
    `${server.url}/api/forever-iframe?since=0`,
    (seen) => seen.split('<script>m(').length > HOSTILE.length,
  );
  const { received, pwned } = runScripts(html);
  assert.deepEqual(received, published);
  assert.equal(pwned, false);
});

test('escapeForScript turns every unsafe character into a \\u escape that JSON reads back', () => {
  const json = JSON.stringify({ text: HOSTILE.join('') });
  assert.deepEqual(JSON.parse(escapeForScript(json)), JSON.parse(json));
  assert.equal(escapeForScript('<>&\u2028\u2029'), '\\u003c\\u003e\\u0026\\u2028\\u2029');
});

test('the function called is fixed: a callback in the request changes nothing', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'hi' });
  const { html } = await readDocument(`${server.url}/api/forever-iframe?since=0&callback=alert`, (seen) =>
    seen.includes('<script>m('),
  );
  assert.doesNotMatch(html, /alert/);
  assert.match(html, /parent\.onFeedMessage/);
});

test('the document ends after the byte limit with an end event, and reopening from its cursor loses nothing', async (t) => {
  const server = await startServer(t, { config: { iframeMaxBytes: 2048 } });
  const published: Message[] = [];
  for (let i = 1; i <= 60; i += 1)
    published.push(await publish(server.url, { author: 'ada', text: `message number ${i}` }));
  const received: Message[] = [];
  let cursor = 0;
  let epoch = server.feed.epoch;
  let documents = 0;
  const last = `"id":${published.length},`;
  while (received.length < published.length && documents < 100) {
    documents += 1;
    // Read until the server ends the document, or until the last message (the last
    // document stays open for live messages).
    const { html } = await readDocument(`${server.url}/api/forever-iframe?since=${cursor}&epoch=${epoch}`, (seen) =>
      seen.includes(last),
    );
    assert.ok(Buffer.byteLength(html) < 2048 + 1024, `a document of ${Buffer.byteLength(html)} bytes`);
    const run = runScripts(html);
    received.push(...run.received);
    if (html.includes(last)) break;
    assert.match(html, /<\/html>\n$/);
    const end = run.events.at(-1);
    assert.ok(end?.type === 'end' && end.reason === 'limit', JSON.stringify(end));
    assert.deepEqual(run.events[0], { type: 'epoch', epoch: server.feed.epoch });
    assert.equal(end.epoch, server.feed.epoch);
    ({ cursor, epoch } = end);
    assert.equal(cursor, received.at(-1)?.id);
  }
  // About 20 messages fit in 2 KiB: the 60 took several documents.
  assert.ok(documents >= 3, `${documents} documents`);
  assert.deepEqual(received, published);
});

test('an idle document carries a heartbeat comment', async (t) => {
  const server = await startServer(t, { config: { heartbeatMs: 100 } });
  const { html } = await readDocument(`${server.url}/api/forever-iframe`, (seen) =>
    seen.includes('<!-- heartbeat -->'),
  );
  assert.match(html, /<!-- heartbeat -->\n/);
});
