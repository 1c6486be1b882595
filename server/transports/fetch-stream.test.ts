/**
 * Streaming over fetch, read with a real fetch and its body's reader, as the page reads
 * it: the exact lines on the wire, replay, live, resuming with `since` and `epoch` (there
 * is no Last-Event-ID), gap and reset, heartbeats and padding.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { techniques } from '../contract/techniques.js';
import { publish, startServer } from '../../test/support.ts';

// The technique is found by its wire format, as the tests choose techniques: this file
// never names its id.
const technique = techniques.find((entry) => entry.wire === 'ndjson');
assert.ok(technique, 'a technique of the ndjson wire format is registered');
const path = `/api/${technique.id}`;

/** The line naming the feed, which opens every stream. */
const epochLine = (epoch: string) => `{"type":"epoch","epoch":"${epoch}"}\n`;

/** Reads a streaming response until `done(text)` holds, then cancels it; fails with what it read after 5 s. */
async function readUntil(response: Response, done: (text: string) => boolean): Promise<string> {
  const reader = response.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  let text = '';
  const deadline = setTimeout(() => void reader.cancel(), 5000);
  try {
    while (!done(text)) {
      const { value, done: ended } = await reader.read();
      if (ended) assert.fail(`the stream ended before what was awaited; it read:\n${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(deadline);
  }
  await reader.cancel();
  return text;
}

/** The complete, non-blank lines of `text`, parsed. */
const linesOf = (text: string) =>
  text
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('the stream is NDJSON, not stored, not buffered, not sniffed, and opens with the epoch line', async (t) => {
  const server = await startServer(t);
  const response = await fetch(`${server.url}${path}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  assert.equal(response.headers.get('x-accel-buffering'), 'no');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await readUntil(response, (seen) => seen.includes('\n')), epochLine(server.feed.epoch));
});

test('replay then live: each message is exactly its JSON on one line, hostile texts included', async (t) => {
  const server = await startServer(t);
  const old = await publish(server.url, { author: 'eve', text: 'a\n{"type":"reset","epoch":"forged"}\r\nb' });
  const response = await fetch(`${server.url}${path}?since=0`);
  const reading = readUntil(response, (seen) => linesOf(seen).length >= 3);
  const live = await publish(server.url, { author: 'ada', text: 'live 🦊' });
  assert.equal(await reading, `${epochLine(server.feed.epoch)}${JSON.stringify(old)}\n${JSON.stringify(live)}\n`);
});

test('resuming with since and epoch gets only what follows the cursor, and no reset', async (t) => {
  const server = await startServer(t);
  for (let i = 1; i <= 4; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const { epoch } = server.feed;
  const text = await readUntil(await fetch(`${server.url}${path}?since=2&epoch=${epoch}`), (seen) =>
    seen.includes('"text":"m4"'),
  );
  assert.deepEqual(
    linesOf(text).map((line) => line.type ?? line.text),
    ['epoch', 'm3', 'm4'],
  );
});

test('a cursor of another epoch gets a reset naming this epoch, then the history from id 1', async (t) => {
  const server = await startServer(t);
  for (let i = 1; i <= 2; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const { epoch } = server.feed;
  const text = await readUntil(await fetch(`${server.url}${path}?since=2&epoch=old000`), (seen) =>
    seen.includes('"text":"m2"'),
  );
  const [first, second, third] = linesOf(text);
  assert.deepEqual(
    [first, second],
    [
      { type: 'epoch', epoch },
      { type: 'reset', epoch },
    ],
  );
  assert.deepEqual([third?.id, third?.text], [1, 'm1']);
});

test('a cursor older than the history gets a gap line with the count missed, then what is left', async (t) => {
  const server = await startServer(t, { config: { historySize: 3 } });
  for (let i = 1; i <= 6; i += 1) await publish(server.url, { author: 'ada', text: `m${i}` });
  const text = await readUntil(await fetch(`${server.url}${path}?since=1&epoch=${server.feed.epoch}`), (seen) =>
    seen.includes('"text":"m6"'),
  );
  assert.deepEqual(
    linesOf(text).map((line) => (line.type === 'gap' ? `gap ${line.missed}` : (line.type ?? line.text))),
    ['epoch', 'gap 2', 'm4', 'm5', 'm6'],
  );
});

test('an idle stream carries empty-line heartbeats; padding is one blank line of the bytes asked', async (t) => {
  const server = await startServer(t, { config: { heartbeatMs: 100 } });
  const heartbeats = await readUntil(await fetch(`${server.url}${path}`), (seen) => seen.endsWith('\n\n\n'));
  assert.equal(heartbeats, `${epochLine(server.feed.epoch)}\n\n`);
  const padded = await readUntil(await fetch(`${server.url}${path}?padding=2048`), (seen) => seen.includes('epoch'));
  assert.equal(padded.slice(0, 2048), `${' '.repeat(2047)}\n`);
  assert.equal((await fetch(`${server.url}${path}?padding=-1`)).status, 400);
});
