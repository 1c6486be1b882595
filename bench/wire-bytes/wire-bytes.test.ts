/**
 * docs/wire-bytes.md against the wire: every byte of its tables is captured again from a
 * server on port 0 and must be what the doc says, so a header added, dropped or grown
 * anywhere fails here until the doc is regenerated (bench/wire-bytes/run.ts) and its
 * words are checked. And the figures the doc argues from, held to the goals.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from '../../test/suite.ts';
import { captureWireBytes } from './capture.ts';
import { WIRE_BYTES_DOC, generatedPart } from './run.ts';
import { BEST_PEER, figuresOf, wireBytesMarkdown } from './table.ts';

const captured = await captureWireBytes();

test('docs/wire-bytes.md holds the bytes a fresh capture finds, line for line', () => {
  const doc = generatedPart(readFileSync(WIRE_BYTES_DOC, 'utf8'));
  const fresh = wireBytesMarkdown(captured);
  const docLines = doc.split('\n');
  const freshLines = fresh.split('\n');
  const differing = freshLines.findIndex((line, index) => line !== docLines[index]);
  assert.equal(
    differing === -1 && docLines.length === freshLines.length,
    true,
    `docs/wire-bytes.md is out of date (run node --import tsx bench/wire-bytes/run.ts): the doc says\n${docLines[differing] ?? '(nothing)'}\nthe wire says\n${freshLines[differing] ?? '(nothing)'}`,
  );
});

test('an empty poll costs no more than its request and a 204 with no-store and Date, and no poll answer says keep-alive', () => {
  for (const technique of captured.filter((t) => !t.technique.capabilities.streams)) {
    const nothingNew = technique.nothingNew;
    assert.ok(nothingNew, technique.technique.id);
    assert.deepEqual(
      nothingNew.lines.map((line) => line.text.split(':')[0]?.toLowerCase()),
      ['http/1.1 204 no content', 'cache-control', 'date', ''],
      technique.technique.id,
    );
    for (const answer of [nothingNew, technique.opening])
      assert.equal(
        answer.lines.some((line) => /^(connection|keep-alive):/i.test(line.text)),
        false,
        technique.technique.id,
      );
  }
});

test('the streams and WebSocket are at or under the best peer per message, but for the bytes the doc says buy something', () => {
  for (const technique of captured.filter((t) => t.technique.capabilities.streams)) {
    const { perMessage } = figuresOf(technique);
    const peer = technique.technique.capabilities.upgrades
      ? BEST_PEER.websocket.bytes
      : technique.technique.wire === 'event-stream'
        ? // The `id: <epoch>.<id>` line, Last-Event-ID's resume with its feed.
          BEST_PEER.eventStream.bytes + Buffer.byteLength(`id: ${'e'.repeat(6)}.2\n`)
        : BEST_PEER.scriptStream.bytes;
    assert.ok(perMessage <= peer, `${technique.technique.id}: ${perMessage} B per message, the peer ${peer}`);
  }
});

test('a poll carrying a message to a client at its cursor and epoch wraps it in {"messages":[…]} and nothing else', () => {
  for (const technique of captured.filter((t) => !t.technique.capabilities.streams)) {
    assert.equal(technique.opening.envelope?.text, '{"messages":[<payload>]}', technique.technique.id);
    assert.equal(technique.opening.envelope?.bytes, '{"messages":[]}'.length, technique.technique.id);
  }
});
