import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transports } from '../../server/transports/index.ts';
import { drivers } from './index.ts';
import { sseParser } from './sse.ts';
import { scriptCallParser } from './forever-iframe.ts';

test('every server technique has a bench driver, in the same order', () => {
  assert.deepEqual(drivers.map((d) => d.id), transports.map((t) => t.id));
});

test('the event-stream parser reads messages split across chunks and skips comments and ids', () => {
  const parser = sseParser();
  const json = JSON.stringify({ id: 7, ts: 1, author: 'a', text: 'x: y\u2028' });
  const stream = `retry: 2000\n\nevent: epoch\ndata: {"type":"epoch","epoch":"k3j9x2"}\n\n: heartbeat\n\nid: k3j9x2.7\ndata: ${json}\n\nevent: gap\ndata: {"type":"gap","missed":3}\n\n`;
  const items = [];
  for (let i = 0; i < stream.length; i += 5) items.push(...parser.push(stream.slice(i, i + 5)));
  assert.deepEqual(items, [
    { kind: 'control', event: { type: 'epoch', epoch: 'k3j9x2' } },
    { kind: 'message', json },
    { kind: 'control', event: { type: 'gap', missed: 3 } },
  ]);
});

test('the script-call scanner reads escaped messages split across chunks', () => {
  const parser = scriptCallParser();
  const message = { id: 1, ts: 2, author: 'a', text: '</script><!--<script>&' };
  const escaped = JSON.stringify(message).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  const stream = `<!doctype html><body>\n<script>var m = parent.onFeedMessage;</script>\n<script>m(${escaped})</script>\n<!-- heartbeat -->\n<script>c({"type":"end","cursor":1,"reason":"limit"})</script>\n`;
  const items = [];
  for (let i = 0; i < stream.length; i += 7) items.push(...parser.push(stream.slice(i, i + 7)));
  assert.deepEqual(items, [
    { kind: 'message', json: JSON.stringify(message) },
    { kind: 'control', event: { type: 'end', cursor: 1, reason: 'limit' } },
  ]);
});
