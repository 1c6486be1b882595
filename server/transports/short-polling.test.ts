import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publish, startServer } from '../../test/support.ts';
import { clientFor } from '../../test/clients/index.ts';
import { techniqueById } from '../contract/techniques.js';

const technique = techniqueById('short-polling');
assert.ok(technique, 'short-polling is registered');
const PATH = `/api/${technique.id}`;

async function poll(url: string) {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as Record<string, unknown>;
}

test('an empty feed answers at once with no messages and cursor 0', async (t) => {
  const server = await startServer(t);
  assert.deepEqual(await poll(`${server.url}${PATH}?since=0`), { epoch: server.feed.epoch, cursor: 0, messages: [] });
});

test('the answer holds the messages after the cursor, and the cursor is the last id', async (t) => {
  const server = await startServer(t);
  const published = [];
  for (let i = 1; i <= 3; i += 1) published.push(await publish(server.url, { author: 'ada', text: `m${i}` }));
  const { epoch } = server.feed;
  assert.deepEqual(await poll(`${server.url}${PATH}?since=1`), { epoch, cursor: 3, messages: published.slice(1) });
  assert.deepEqual(await poll(`${server.url}${PATH}?since=3&epoch=${epoch}`), { epoch, cursor: 3, messages: [] });
  assert.deepEqual(await poll(`${server.url}${PATH}`), { epoch, cursor: 3, messages: [] });
});

test('missed appears only after a gap', async (t) => {
  const server = await startServer(t, { config: { historySize: 2 } });
  for (let i = 1; i <= 5; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const answer = await poll(`${server.url}${PATH}?since=1`);
  assert.equal(answer.missed, 2);
  assert.equal(answer.cursor, 5);
  assert.equal('missed' in (await poll(`${server.url}${PATH}?since=3`)), false);
});

test('an answer carries at most POLL_PAGE_BYTES of messages, says "more", and the cursor takes the rest', async (t) => {
  const server = await startServer(t, { config: { pollPageBytes: 1024 } });
  const published = [];
  for (let i = 1; i <= 7; i += 1)
    published.push(await publish(server.url, { author: 'ada', text: `${i}`.repeat(300) }));
  const bytes = (messages: unknown[]) =>
    messages.reduce((sum: number, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
  const first = await poll(`${server.url}${PATH}?since=0`);
  // Each message is about 360 bytes of JSON: two fit in 1,024, a third would not.
  assert.deepEqual(first, { epoch: server.feed.epoch, cursor: 2, messages: published.slice(0, 2), more: true });
  assert.ok(bytes(first.messages as unknown[]) <= 1024);
  const second = await poll(`${server.url}${PATH}?since=2`);
  assert.deepEqual(second, { epoch: server.feed.epoch, cursor: 4, messages: published.slice(2, 4), more: true });
  const rest = [];
  let cursor = 4;
  for (;;) {
    const answer = await poll(`${server.url}${PATH}?since=${cursor}`);
    rest.push(...(answer.messages as unknown[]));
    cursor = answer.cursor as number;
    if (!answer.more) break;
  }
  assert.deepEqual(rest, published.slice(4));
  assert.equal(cursor, 7);
});

test('a message larger than the page still comes, alone, so a client always progresses', async (t) => {
  const server = await startServer(t, { config: { pollPageBytes: 1024 } });
  const big = await publish(server.url, { author: 'ada', text: 'x'.repeat(4000) });
  const small = await publish(server.url, { author: 'ada', text: 'small' });
  assert.deepEqual(await poll(`${server.url}${PATH}?since=0`), {
    epoch: server.feed.epoch,
    cursor: 1,
    messages: [big],
    more: true,
  });
  assert.deepEqual(await poll(`${server.url}${PATH}?since=1`), {
    epoch: server.feed.epoch,
    cursor: 2,
    messages: [small],
  });
});

test('a gap is told on the first page; the pages after it carry none', async (t) => {
  const server = await startServer(t, { config: { historySize: 4, pollPageBytes: 1024 } });
  for (let i = 1; i <= 8; i += 1) await publish(server.url, { author: 'ada', text: 'y'.repeat(400) });
  const first = await poll(`${server.url}${PATH}?since=1`);
  assert.equal(first.missed, 3);
  assert.equal(first.more, true);
  assert.deepEqual(
    (first.messages as { id: number }[]).map((m) => m.id),
    [5, 6],
  );
  const second = await poll(`${server.url}${PATH}?since=${first.cursor}`);
  assert.deepEqual(
    { ...second, messages: (second.messages as { id: number }[]).map((m) => m.id) },
    { epoch: server.feed.epoch, cursor: 8, messages: [7, 8] },
  );
});

test('the test client follows more: the next page at once, not after its interval', async (t) => {
  const server = await startServer(t, { config: { pollPageBytes: 1024 } });
  for (let i = 1; i <= 7; i += 1) await publish(server.url, { author: 'ada', text: 'w'.repeat(300) });
  const client = await clientFor(technique)(server.url, { since: 0, pollIntervalMs: 60_000 });
  t.after(() => client.close());
  await client.received(7, 3000);
  assert.deepEqual(
    client.messages.map((m) => m.id),
    [1, 2, 3, 4, 5, 6, 7],
  );
});

test('the epoch comes first in the answer, and a cursor of another epoch gets reset with the history from id 1', async (t) => {
  const server = await startServer(t);
  for (let i = 1; i <= 3; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const raw = await (await fetch(`${server.url}${PATH}?since=2&epoch=zzzzzz`)).text();
  assert.ok(raw.startsWith(`{"epoch":"${server.feed.epoch}","cursor":3,"messages":[`), raw);
  const answer = JSON.parse(raw) as { reset?: boolean; messages: { id: number }[] };
  assert.equal(answer.reset, true);
  assert.deepEqual(
    answer.messages.map((m) => m.id),
    [1, 2, 3],
  );
});
