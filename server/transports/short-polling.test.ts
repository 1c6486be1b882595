import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publish, startServer } from '../testing.ts';

async function poll(url: string) {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as Record<string, unknown>;
}

test('an empty feed answers at once with no messages and cursor 0', async (t) => {
  const server = await startServer(t);
  assert.deepEqual(await poll(`${server.url}/api/short-polling?since=0`), { epoch: server.feed.epoch, cursor: 0, messages: [] });
});

test('the answer holds the messages after the cursor, and the cursor is the last id', async (t) => {
  const server = await startServer(t);
  const published = [];
  for (let i = 1; i <= 3; i += 1) published.push(await publish(server.url, { author: 'ada', text: `m${i}` }));
  const { epoch } = server.feed;
  assert.deepEqual(await poll(`${server.url}/api/short-polling?since=1`), { epoch, cursor: 3, messages: published.slice(1) });
  assert.deepEqual(await poll(`${server.url}/api/short-polling?since=3&epoch=${epoch}`), { epoch, cursor: 3, messages: [] });
  assert.deepEqual(await poll(`${server.url}/api/short-polling`), { epoch, cursor: 3, messages: [] });
});

test('missed appears only after a gap', async (t) => {
  const server = await startServer(t, { config: { historySize: 2 } });
  for (let i = 1; i <= 5; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const answer = await poll(`${server.url}/api/short-polling?since=1`);
  assert.equal(answer.missed, 2);
  assert.equal(answer.cursor, 5);
  assert.equal('missed' in (await poll(`${server.url}/api/short-polling?since=3`)), false);
});

test('the epoch comes first in the answer, and a cursor of another epoch gets reset with the history from id 1', async (t) => {
  const server = await startServer(t);
  for (let i = 1; i <= 3; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const raw = await (await fetch(`${server.url}/api/short-polling?since=2&epoch=zzzzzz`)).text();
  assert.ok(raw.startsWith(`{"epoch":"${server.feed.epoch}","cursor":3,"messages":[`), raw);
  const answer = JSON.parse(raw) as { reset?: boolean; messages: { id: number }[] };
  assert.equal(answer.reset, true);
  assert.deepEqual(answer.messages.map((m) => m.id), [1, 2, 3]);
});
