import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publish, startServer, until } from '../../test/support.ts';
import { readPoll } from '../../test/clients/poll.ts';

interface Answer {
  cursor: number;
  messages: { id: number; text: string }[];
}

async function poll(url: string): Promise<Answer> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  // Whole: the epoch and cursor the wire leaves out, filled in from the position asked.
  return (await readPoll(url, response)) as Answer;
}

test('a message already waiting is answered at once', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'waiting' });
  const answer = await poll(`${server.url}/api/long-polling?since=0&timeout=30000`);
  assert.deepEqual(
    answer.messages.map((m) => m.text),
    ['waiting'],
  );
  assert.equal(answer.cursor, 1);
});

test('a held request is answered by the next publish, and one publish wakes every waiter', async (t) => {
  const server = await startServer(t);
  const waiters = Array.from({ length: 20 }, () => poll(`${server.url}/api/long-polling?since=0&timeout=30000`));
  await until(() => server.feed.listenerCount === 20, '20 held requests');
  const message = await publish(server.url, { author: 'ada', text: 'wake up' });
  for (const answer of await Promise.all(waiters)) {
    assert.deepEqual(answer.messages, [message]);
    assert.equal(answer.cursor, message.id);
  }
  assert.equal(server.feed.listenerCount, 0);
});

test('without since, a held request gets what is published during its hold', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'before' });
  const held = poll(`${server.url}/api/long-polling?timeout=30000`);
  await until(() => server.feed.listenerCount === 1, 'the held request');
  await publish(server.url, { author: 'ada', text: 'during' });
  assert.deepEqual(
    (await held).messages.map((m) => m.text),
    ['during'],
  );
});

test('the timeout ends the hold with an empty list and the same cursor', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'one' });
  const answer = await poll(`${server.url}/api/long-polling?since=1&timeout=50`);
  assert.deepEqual(answer, { epoch: server.feed.epoch, cursor: 1, messages: [] });
  assert.equal(server.feed.listenerCount, 0);
});

test('a hold that ends with nothing new for a current cursor and epoch answers 204, and the client keeps its cursor', async (t) => {
  const server = await startServer(t);
  await publish(server.url, { author: 'ada', text: 'one' });
  const response = await fetch(`${server.url}/api/long-polling?since=1&epoch=${server.feed.epoch}&timeout=50`);
  assert.equal(response.status, 204);
  assert.equal(await response.text(), '');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(response.headers.get('x-content-type-options'), null);
  assert.equal(server.feed.listenerCount, 0);
  // A message during the hold is still the 200 with it.
  const held = poll(`${server.url}/api/long-polling?since=1&epoch=${server.feed.epoch}&timeout=30000`);
  await until(() => server.feed.listenerCount === 1, 'the held request');
  await publish(server.url, { author: 'ada', text: 'two' });
  assert.deepEqual(
    (await held).messages.map((m) => m.text),
    ['two'],
  );
});

test('a client that hangs up during the hold leaves no listener behind', async (t) => {
  const server = await startServer(t);
  const abort = new AbortController();
  const held = fetch(`${server.url}/api/long-polling?timeout=30000`, { signal: abort.signal }).catch(() => null);
  await until(() => server.feed.listenerCount === 1, 'the held request');
  abort.abort();
  await held;
  await until(() => server.feed.listenerCount === 0, 'the listener to go');
  // And the server is fine afterwards.
  await publish(server.url, { author: 'ada', text: 'after' });
  assert.equal((await poll(`${server.url}/api/long-polling?since=0`)).messages.length, 1);
});

for (const timeout of ['-1', 'abc', '1.5', '55001', '', '1e3']) {
  test(`timeout=${JSON.stringify(timeout)} is refused with 400`, async (t) => {
    const server = await startServer(t);
    const response = await fetch(`${server.url}/api/long-polling?timeout=${encodeURIComponent(timeout)}`);
    assert.equal(response.status, 400);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.statusCode, 400);
    assert.match(String(body.message), /timeout must be a whole number of milliseconds from 0 to 55000/);
  });
}

test('a long poll answers a page at a time too, with "more", and the next request is answered at once', async (t) => {
  const server = await startServer(t, { config: { pollPageBytes: 1024 } });
  for (let i = 1; i <= 5; i += 1) await publish(server.url, { author: 'ada', text: 'z'.repeat(400) });
  const first = (await poll(`${server.url}/api/long-polling?since=0&timeout=30000`)) as Answer & { more?: boolean };
  assert.deepEqual([first.messages.map((m) => m.id), first.cursor, first.more], [[1, 2], 2, true]);
  const started = Date.now();
  const second = (await poll(`${server.url}/api/long-polling?since=2&timeout=30000`)) as Answer & { more?: boolean };
  assert.deepEqual([second.messages.map((m) => m.id), second.cursor, second.more], [[3, 4], 4, true]);
  const third = (await poll(`${server.url}/api/long-polling?since=4&timeout=30000`)) as Answer & { more?: boolean };
  assert.deepEqual([third.messages.map((m) => m.id), third.cursor, third.more], [[5], 5, undefined]);
  assert.ok(Date.now() - started < 5000, 'pages that exist are not held');
});
