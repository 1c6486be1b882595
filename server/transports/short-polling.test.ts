import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publish, startServer } from '../../test/support.ts';
import { clientFor } from '../../test/clients/index.ts';
import { readPoll } from '../../test/clients/poll.ts';
import { rawConnection, rawGet } from '../../test/raw-http.ts';
import { techniqueById } from '../contract/techniques.js';

const technique = techniqueById('short-polling');
assert.ok(technique, 'short-polling is registered');
const PATH = `/api/${technique.id}`;

async function poll(url: string) {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  // Whole: the epoch and cursor the wire leaves out, filled in from the position asked.
  return (await readPoll(url, response)) as unknown as Record<string, unknown>;
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
  assert.deepEqual(await poll(`${server.url}${PATH}?since=3`), { epoch, cursor: 3, messages: [] });
  assert.deepEqual(await poll(`${server.url}${PATH}`), { epoch, cursor: 3, messages: [] });
});

test('nothing new for a current cursor and epoch is a 204: no body, no nosniff, no keep-alive lines, not to be cached', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'm1' });
  const { port } = new URL(server.url);
  const connection = await rawConnection(Number(port));
  t.after(() => connection.close());
  const nothingNew = await connection.exchange(rawGet(Number(port), `${PATH}?since=1&epoch=${server.feed.epoch}`));
  assert.equal(nothingNew.lines[0], 'HTTP/1.1 204 No Content');
  assert.deepEqual([...nothingNew.headers.keys()], ['cache-control', 'date']);
  assert.equal(nothingNew.headers.get('cache-control'), 'no-store');
  assert.equal(nothingNew.body.length, 0);
  // The connection persists without saying so (RFC 9112 §9.3): the next poll goes on it.
  const news = await publish(server.url, { author: 'ada', text: 'm2' });
  const answer = await connection.exchange(rawGet(Number(port), `${PATH}?since=1&epoch=${server.feed.epoch}`));
  assert.equal(answer.status, 200);
  assert.deepEqual(
    [...answer.headers.keys()],
    ['cache-control', 'content-type', 'x-content-type-options', 'content-length', 'date'],
  );
  // Only what the client cannot know: the epoch is the one it named, the cursor the
  // message's id.
  assert.equal(answer.body.toString(), `{"messages":[${JSON.stringify(news)}]}`);
  // A client that asks to close is still told the connection closes.
  const last = await connection.exchange(
    rawGet(Number(port), `${PATH}?since=2&epoch=${server.feed.epoch}`, ['Connection: close']),
  );
  assert.equal(last.headers.get('connection'), 'close');
});

test('a poll that names no epoch, or another one, or a cursor the feed has not reached, gets the 200 it must learn from', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'm1' });
  const { epoch } = server.feed;
  for (const query of ['since=1', '', `epoch=${epoch}`, 'since=1&epoch=zzzzzz', `since=9&epoch=${epoch}`]) {
    const response = await fetch(`${server.url}${PATH}?${query}`);
    assert.equal(response.status, 200, query);
    // Said on the wire, not filled in: the request named none, or one that is not the feed's.
    assert.equal(((await response.json()) as { epoch: string }).epoch, epoch, query);
  }
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
  // The cursor is the last message's id, 3: left out.
  assert.ok(raw.startsWith(`{"epoch":"${server.feed.epoch}","messages":[`), raw);
  const answer = JSON.parse(raw) as { reset?: boolean; messages: { id: number }[] };
  assert.equal(answer.reset, true);
  assert.deepEqual(
    answer.messages.map((m) => m.id),
    [1, 2, 3],
  );
});
