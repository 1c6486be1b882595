import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { EventSource } from 'eventsource';
import { publish, startServer, until } from '../../test/support.ts';
import { SSE_RETRY_MS } from '../contract/formats/event-stream.js';

/** The event that opens every stream, naming the feed's epoch. */
const epochEvent = (epoch: string) => `event: epoch\ndata: {"type":"epoch","epoch":"${epoch}"}\n\n`;

/** Reads a streaming response until `done(text)` holds, then cancels it. */
async function readUntil(response: Response, done: (text: string) => boolean): Promise<string> {
  const reader = response.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

test('the stream has event-stream, no-cache and no-buffering headers, and starts with retry and the epoch', async (t) => {
  const server = await startServer(t);
  const response = await fetch(`${server.url}/api/sse`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.match(response.headers.get('cache-control') ?? '', /no-cache/);
  assert.equal(response.headers.get('x-accel-buffering'), 'no');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  const text = await readUntil(response, (seen) => seen.split('\n\n').length > 2);
  assert.equal(text, `retry: ${SSE_RETRY_MS}\n\n${epochEvent(server.feed.epoch)}`);
});

test('each message is exactly an id line, <epoch>.<id>, and one data line of its JSON', async (t) => {
  const server = await startServer(t);
  const message = await publish(server.url, { author: 'ada', text: 'two\nlines and\r\na CRLF' });
  const text = await readUntil(await fetch(`${server.url}/api/sse?since=0`), (seen) => seen.split('\n\n').length > 3);
  const { epoch } = server.feed;
  assert.equal(
    text,
    `retry: ${SSE_RETRY_MS}\n\n${epochEvent(epoch)}id: ${epoch}.${message.id}\ndata: ${JSON.stringify(message)}\n\n`,
  );
});

test("a text with CR, LF and fake id/retry/event lines cannot move the client's Last-Event-ID", async (t) => {
  const server = await startServer(t);
  const texts = ['a\nid: 999\n\ndata: forged', 'b\rid: 998', 'c\r\nretry: 1\r\nevent: gap', 'd\n\nid: 997\n'];
  const published = [];
  for (const text of texts) published.push(await publish(server.url, { author: 'eve', text }));
  const source = new EventSource(`${server.url}/api/sse?since=0`);
  t.after(() => source.close());
  const seen: { id: string; text: string }[] = [];
  let gaps = 0;
  source.addEventListener('message', (event) =>
    seen.push({ id: event.lastEventId, text: JSON.parse(event.data).text }),
  );
  source.addEventListener('gap', () => (gaps += 1));
  await until(() => seen.length === texts.length, 'every message');
  assert.deepEqual(
    seen,
    published.map((message) => ({ id: `${server.feed.epoch}.${message.id}`, text: message.text })),
  );
  assert.equal(gaps, 0);
});

test('Last-Event-ID takes precedence over since, with its epoch or bare', async (t) => {
  const server = await startServer(t);
  for (let i = 1; i <= 4; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const { epoch } = server.feed;
  for (const lastEventId of [`${epoch}.3`, '3']) {
    const response = await fetch(`${server.url}/api/sse?since=0&epoch=${epoch}`, {
      headers: { 'last-event-id': lastEventId },
    });
    const text = await readUntil(response, (seen) => seen.includes(`id: ${epoch}.4`));
    assert.doesNotMatch(text, /id: \w+\.[123]\n/, lastEventId);
    assert.doesNotMatch(text, /event: reset/, lastEventId);
    assert.match(text, new RegExp(`id: ${epoch}\\.4\n`), lastEventId);
  }
});

test('a Last-Event-ID of another epoch gets a reset naming this epoch, then the history from id 1', async (t) => {
  const server = await startServer(t);
  for (let i = 1; i <= 4; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const { epoch } = server.feed;
  const response = await fetch(`${server.url}/api/sse?since=3&epoch=${epoch}`, {
    headers: { 'last-event-id': 'old000.3' },
  });
  const text = await readUntil(response, (seen) => seen.includes(`id: ${epoch}.4`));
  const reset = `event: reset\ndata: {"type":"reset","epoch":"${epoch}"}\n\n`;
  assert.ok(text.startsWith(`retry: ${SSE_RETRY_MS}\n\n${epochEvent(epoch)}${reset}id: ${epoch}.1\n`), text);
});

for (const [lastEventId, complaint] of [
  ['abc', /Last-Event-ID must be a non-negative integer/],
  ['k3j9x2.-1', /the id in Last-Event-ID must be a non-negative integer/],
  ['K3J9X2.5', /the epoch in Last-Event-ID must be 1 to 16 characters of 0-9 and a-z/],
  ['.5', /the epoch in Last-Event-ID must be/],
  ['k3j9x2.', /the id in Last-Event-ID must be/],
] as const) {
  test(`a Last-Event-ID ${JSON.stringify(lastEventId)} gets 400 with RTL_BAD_CURSOR or RTL_BAD_EPOCH`, async (t) => {
    const server = await startServer(t);
    const response = await fetch(`${server.url}/api/sse`, { headers: { 'last-event-id': lastEventId } });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { code: string; message: string };
    assert.match(body.code, /^RTL_BAD_(CURSOR|EPOCH)$/);
    assert.match(body.message, complaint);
  });
}

test('an idle stream carries a comment heartbeat', async (t) => {
  const server = await startServer(t, { config: { heartbeatMs: 100 } });
  const text = await readUntil(await fetch(`${server.url}/api/sse`), (seen) => seen.includes(': heartbeat\n\n'));
  assert.match(text, /^retry: \d+\n\nevent: epoch\n.*\n\n: heartbeat\n\n/);
});

test('EventSource reconnects by itself after a cut and resumes from its Last-Event-ID, losing nothing', async (t) => {
  const server = await startServer(t);
  // A proxy whose connections the test can cut, as a network fault would.
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    client.pipe(upstream).pipe(client);
    sockets.add(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => proxy.close());
  const source = new EventSource(`http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/api/sse?since=0`);
  t.after(() => source.close());
  const ids: number[] = [];
  source.addEventListener('message', (event) => ids.push(JSON.parse(event.data).id));
  await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));

  await publish(server.url, { author: 'ada', text: 'one' });
  await until(() => ids.length === 1, 'the first message');
  for (const socket of sockets) socket.destroy();
  for (let i = 2; i <= 4; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  await until(() => ids.length === 4, 'the messages sent while cut', SSE_RETRY_MS + 5000);
  assert.deepEqual(ids, [1, 2, 3, 4]);
});
