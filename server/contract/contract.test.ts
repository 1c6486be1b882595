/**
 * The contract's round trips: for each wire format, what the encoder writes, the parser
 * reads back as the same messages and control events, whatever the text holds and however
 * the bytes are split into chunks. The server writes with these encoders and the bench,
 * the tests and the pages read with these parsers, so this is where they are held together.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { RECONNECT_FIRST_MS, RECONNECT_JITTER, RECONNECT_MAX_MS, reconnectDelay } from './backoff.js';
import type { ControlEvent, FeedItem, Message } from './feed.js';
import { EventStreamParser, eventStream, splitEventId } from './formats/event-stream.js';
import { NDJSON_HEADERS, NdjsonParser, ndjson } from './formats/ndjson.js';
import { encodePollAnswer, parsePollAnswer, pollItems, readPollResponse, tellsNothingNew } from './formats/poll.js';
import { SCRIPT_CALLBACKS, ScriptStreamParser, scriptStream } from './formats/script-stream.js';
import {
  SUBPROTOCOLS,
  chooseSubprotocol,
  msgpackFrames,
  parseMsgpackServerFrame,
  parseServerFrame,
  readClientFrame,
  websocketFrames,
} from './formats/websocket.js';
import { techniques, withCapabilities } from './techniques.js';

// Texts that break naive framing: line ends (SSE fields), the script end tag and HTML
// comment openers (a <script>), JS line terminators, quotes, and characters beyond the BMP.
const HOSTILE_TEXTS = [
  'plain',
  'two\nlines\r\nand a CR\r',
  '</script><script>alert(1)</script>',
  '<!-- <script',
  'line\u2028separator\u2029',
  '"quoted" \\ back',
  '🦊 émoji & ampersand',
  'data: forged\n\nid: 99',
  '\n{"type":"reset","epoch":"forged"}\r\n',
];
const EPOCH = 'k3j9x2';
const messages: Message[] = HOSTILE_TEXTS.map((text, index) => ({
  id: index + 1,
  ts: 1_700_000_000_000.25 + index,
  author: `ada ${index}`,
  text,
}));
const json = (message: Message) => JSON.stringify(message);
const CONTROLS: ControlEvent[] = [
  { type: 'epoch', epoch: EPOCH },
  { type: 'gap', missed: 7 },
  { type: 'reset', epoch: 'zz0001' },
  { type: 'end', epoch: EPOCH, cursor: 42, reason: 'limit' },
];
const expectedItems: FeedItem[] = [
  { kind: 'control', event: CONTROLS[0] as ControlEvent },
  ...messages.map((message): FeedItem => ({ kind: 'message', json: json(message) })),
  ...CONTROLS.slice(1).map((event): FeedItem => ({ kind: 'control', event })),
];

/** Feeds `text` to a fresh parser in chunks cut at `cut`, and at every `step` after it. */
function parseInChunks(
  parser: { push(text: string): FeedItem[] },
  text: string,
  cut: number,
  step: number,
): FeedItem[] {
  const items: FeedItem[] = parser.push(text.slice(0, cut));
  for (let at = cut; at < text.length; at += step) items.push(...parser.push(text.slice(at, at + step)));
  return items;
}

test('poll: an answer round-trips, flags included, and reads as the items a stream would carry', () => {
  const body = encodePollAnswer({
    epoch: EPOCH,
    cursor: 8,
    messagesJson: messages.map(json),
    missed: 3,
    reset: true,
    more: true,
  });
  const answer = parsePollAnswer(body);
  assert.deepEqual(answer, { epoch: EPOCH, cursor: 8, messages, missed: 3, reset: true, more: true });
  assert.deepEqual(pollItems(answer), [
    { kind: 'control', event: { type: 'reset', epoch: EPOCH } },
    { kind: 'control', event: { type: 'gap', missed: 3 } },
    ...messages.map((message) => ({ kind: 'message', json: json(message), message })),
  ]);
  // No flag is written when it does not apply.
  assert.equal(
    encodePollAnswer({ epoch: EPOCH, cursor: 0, messagesJson: [] }),
    `{"epoch":"${EPOCH}","cursor":0,"messages":[]}`,
  );
  assert.throws(() => parsePollAnswer('{"cursor":1}'), /not a polling answer/);
});

test('poll: an answer leaves out the epoch asked and a cursor that is its last message, and reads back whole', () => {
  const all = messages.map(json);
  const last = messages.length;
  const asked = { cursor: 0, epoch: EPOCH };
  const cases: {
    name: string;
    answer: Parameters<typeof encodePollAnswer>[0];
    asked: { cursor?: number; epoch?: string };
    written: string;
  }[] = [
    {
      name: 'plain: the messages, nothing else',
      answer: { epoch: EPOCH, cursor: last, messagesJson: all, lastMessageId: last },
      asked,
      written: `{"messages":[${all.join(',')}]}`,
    },
    {
      name: 'a gap: how many, and the messages after it',
      answer: { epoch: EPOCH, cursor: last, messagesJson: all.slice(3), lastMessageId: last, missed: 3 },
      asked,
      written: `{"messages":[${all.slice(3).join(',')}],"missed":3}`,
    },
    {
      name: 'a page: the cursor is its last message, and more says ask again',
      answer: { epoch: EPOCH, cursor: 2, messagesJson: all.slice(0, 2), lastMessageId: 2, more: true },
      asked,
      written: `{"messages":[${all.slice(0, 2).join(',')}],"more":true}`,
    },
    {
      name: 'a reset to another feed names it',
      answer: { epoch: 'zz0001', cursor: last, messagesJson: all, lastMessageId: last, reset: true },
      asked,
      written: `{"epoch":"zz0001","messages":[${all.join(',')}],"reset":true}`,
    },
    {
      name: 'a reset of a cursor ahead of the same feed names it too',
      answer: { epoch: EPOCH, cursor: 1, messagesJson: all.slice(0, 1), lastMessageId: 1, reset: true },
      asked: { cursor: 99, epoch: EPOCH },
      written: `{"epoch":"${EPOCH}","messages":[${all[0]}],"reset":true}`,
    },
    {
      name: 'a reset of an empty feed: where it stands, with no message to tell it',
      answer: { epoch: 'zz0001', cursor: 0, messagesJson: [], reset: true },
      asked,
      written: '{"epoch":"zz0001","cursor":0,"messages":[],"reset":true}',
    },
    {
      name: 'a gap that left nothing to send: the cursor past it',
      answer: { epoch: EPOCH, cursor: 12, messagesJson: [], missed: 5 },
      asked: { cursor: 7, epoch: EPOCH },
      written: '{"cursor":12,"messages":[],"missed":5}',
    },
    {
      name: 'a first poll, which named neither: both',
      answer: { epoch: EPOCH, cursor: last, messagesJson: [] },
      asked: {},
      written: `{"epoch":"${EPOCH}","cursor":${last},"messages":[]}`,
    },
    {
      name: 'an epoch with no cursor names no position: both',
      answer: { epoch: EPOCH, cursor: last, messagesJson: [] },
      asked: { epoch: EPOCH },
      written: `{"epoch":"${EPOCH}","cursor":${last},"messages":[]}`,
    },
    {
      name: 'a bare since, as a client from before epochs asks: the whole answer, as it always was',
      answer: { epoch: EPOCH, cursor: last, messagesJson: all.slice(4), lastMessageId: last },
      asked: { cursor: 4 },
      written: `{"epoch":"${EPOCH}","cursor":${last},"messages":[${all.slice(4).join(',')}]}`,
    },
  ];
  for (const { name, answer, asked: position, written } of cases) {
    const body = encodePollAnswer(answer, position);
    assert.equal(body, written, name);
    const { messagesJson, lastMessageId, ...rest } = answer;
    assert.deepEqual(
      readPollResponse(200, body, position),
      { ...rest, messages: messagesJson.map((text) => JSON.parse(text) as Message) },
      name,
    );
  }
  // What the request did not name, an answer cannot leave out.
  assert.throws(() => parsePollAnswer(`{"messages":[${all[0]}]}`, {}), /no epoch or cursor/);
  assert.throws(() => parsePollAnswer('{"messages":[]}', { epoch: EPOCH }), /no epoch or cursor/);
  assert.throws(() => parsePollAnswer(`{"messages":[${all[0]}],"reset":true}`, asked), /no epoch or cursor/);
});

test('poll: a 204 reads as nothing new at the position asked; it tells nothing only to a client at that position', () => {
  assert.deepEqual(readPollResponse(204, '', { cursor: 7, epoch: EPOCH }), { epoch: EPOCH, cursor: 7, messages: [] });
  assert.throws(() => readPollResponse(204, '', { cursor: 7 }), /no cursor and epoch/);
  assert.throws(() => readPollResponse(204, '', { epoch: EPOCH }), /no cursor and epoch/);
  assert.throws(() => readPollResponse(503, '{"code":"x"}', { cursor: 7, epoch: EPOCH }), /HTTP 503/);
  const body = encodePollAnswer({ epoch: EPOCH, cursor: 8, messagesJson: messages.map(json) });
  assert.deepEqual(readPollResponse(200, body, {}), parsePollAnswer(body));
  const current = { epoch: EPOCH, cursor: 7, messages: 0 };
  assert.equal(tellsNothingNew(current, { cursor: 7, epoch: EPOCH }), true);
  for (const [answer, asked] of [
    [current, { cursor: 7 }],
    [current, { epoch: EPOCH }],
    [current, { cursor: 6, epoch: EPOCH }],
    [current, { cursor: 7, epoch: 'other' }],
    [
      { ...current, messages: 1 },
      { cursor: 7, epoch: EPOCH },
    ],
    [
      { ...current, missed: 2 },
      { cursor: 7, epoch: EPOCH },
    ],
    [
      { ...current, reset: true },
      { cursor: 7, epoch: EPOCH },
    ],
  ] as const) {
    assert.equal(tellsNothingNew(answer, asked), false, JSON.stringify([answer, asked]));
  }
});

/** A `padding=` prelude (the classic 2 KiB), which every parser must skip. */
const PADDING = 2048;

test('event-stream: what the encoder writes, the parser reads back, in any chunking', () => {
  const stream =
    eventStream.open() +
    eventStream.padding(PADDING) +
    eventStream.control(CONTROLS[0] as ControlEvent) +
    messages
      .map((message) => eventStream.message(json(message), EPOCH, message.id) + eventStream.heartbeat())
      .join('') +
    CONTROLS.slice(1).map(eventStream.control).join('');
  for (const step of [1, 3, 7, 64, stream.length]) {
    assert.deepEqual(
      parseInChunks(new EventStreamParser(), stream, Math.min(step, stream.length), step),
      expectedItems,
      `chunks of ${step}`,
    );
  }
  // Each message's id carries the whole cursor, as EventSource will send it back.
  assert.match(eventStream.message('{}', EPOCH, 5), /^id: k3j9x2\.5\n/);
  assert.deepEqual(splitEventId('k3j9x2.5'), { epoch: EPOCH, id: '5' });
  assert.deepEqual(splitEventId('5'), { epoch: undefined, id: '5' });
  // The padding is exactly the bytes asked for: what an intermediary counts.
  assert.equal(Buffer.byteLength(eventStream.padding(PADDING)), PADDING);
  assert.equal(Buffer.byteLength(scriptStream.padding(PADDING)), PADDING);
});

test('script-stream: the parser reads what a browser would run, in any chunking', () => {
  const document =
    scriptStream.open() +
    scriptStream.padding(PADDING) +
    scriptStream.control(CONTROLS[0] as ControlEvent) +
    messages.map((message) => scriptStream.message(json(message)) + scriptStream.heartbeat()).join('') +
    CONTROLS.slice(1).map(scriptStream.control).join('');
  for (const step of [1, 5, 64, document.length]) {
    assert.deepEqual(
      parseInChunks(new ScriptStreamParser(), document, Math.min(step, document.length), step),
      // It reads each message's JSON to undo the escapes, and hands over what it read.
      expectedItems.map((item) => (item.kind === 'message' ? { ...item, message: JSON.parse(item.json) } : item)),
      `chunks of ${step}`,
    );
  }
  // No text can close the <script> early: each element holds exactly one call.
  const scripts = [...document.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
  assert.equal(scripts.length, 1 + expectedItems.length);
  // And running the scripts, as the browser does, calls the parent page with the same things.
  const seen: FeedItem[] = [];
  const parent = {
    [SCRIPT_CALLBACKS.message]: (message: Message) => seen.push({ kind: 'message', json: JSON.stringify(message) }),
    [SCRIPT_CALLBACKS.event]: (event: ControlEvent) => seen.push({ kind: 'control', event: structuredClone(event) }),
  };
  const context = vm.createContext({ parent });
  for (const code of scripts) vm.runInContext(code, context);
  assert.deepEqual(JSON.parse(JSON.stringify(seen)), expectedItems);
});

test('ndjson: what the encoder writes, the parser reads back, split at every chunk size', () => {
  const stream =
    ndjson.open() +
    ndjson.padding(PADDING) +
    ndjson.control(CONTROLS[0] as ControlEvent) +
    messages.map((message) => ndjson.message(json(message)) + ndjson.heartbeat()).join('') +
    CONTROLS.slice(1).map(ndjson.control).join('');
  for (let step = 1; step <= stream.length; step += step < 80 ? 1 : 97) {
    assert.deepEqual(parseInChunks(new NdjsonParser(), stream, step, step), expectedItems, `chunks of ${step}`);
  }
  assert.deepEqual(new NdjsonParser().push(stream), expectedItems, 'in one piece');
  // One JSON value per line, every line: what any NDJSON reader (jq, a log shipper) expects.
  const lines = stream.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, expectedItems.length);
  for (const line of lines) JSON.parse(line);
  // `type` leads a control event's line whatever order the event was built in.
  assert.equal(ndjson.control({ missed: 2, type: 'gap' } as ControlEvent), '{"type":"gap","missed":2}\n');
  // A CRLF line end, as a proxy may rewrite it, reads the same.
  assert.deepEqual(new NdjsonParser().push(`${json(messages[0] as Message)}\r\n`), [expectedItems[1]]);
  assert.equal(Buffer.byteLength(ndjson.padding(PADDING)), PADDING);
  assert.match(NDJSON_HEADERS['content-type'], /^application\/x-ndjson/);
});

test('websocket: server frames parse as messages, control events and publish answers', () => {
  for (const message of messages)
    assert.deepEqual(parseServerFrame(websocketFrames.message(json(message))), {
      kind: 'message',
      json: json(message),
      message,
    });
  for (const event of CONTROLS)
    assert.deepEqual(parseServerFrame(websocketFrames.control(event)), { kind: 'control', event });
  const ack = { type: 'ack', id: 9, ref: 'r1' } as const;
  const refusal = { type: 'error', message: 'no', code: 'RTL_FEED_UNAVAILABLE' } as const;
  assert.deepEqual(parseServerFrame(websocketFrames.answer(ack)), { kind: 'answer', answer: ack });
  assert.deepEqual(parseServerFrame(websocketFrames.answer(refusal)), { kind: 'answer', answer: refusal });
  assert.deepEqual(JSON.parse(websocketFrames.publish({ author: 'ada', text: 'hi', ref: 'r1' })), {
    type: 'publish',
    author: 'ada',
    text: 'hi',
    ref: 'r1',
  });
  assert.deepEqual(JSON.parse(websocketFrames.publish({ author: 'ada', text: 'hi' })), {
    type: 'publish',
    author: 'ada',
    text: 'hi',
  });
});

test('websocket in MessagePack: the same frames, as MessagePack, parse back the same', () => {
  for (const message of messages)
    assert.deepEqual(parseMsgpackServerFrame(msgpackFrames.message(message)), {
      kind: 'message',
      json: json(message),
      message,
    });
  for (const event of CONTROLS)
    assert.deepEqual(parseMsgpackServerFrame(msgpackFrames.control(event)), { kind: 'control', event });
  const refusal = { type: 'error', message: 'no', code: 'RTL_FEED_UNAVAILABLE', ref: 'r1' } as const;
  assert.deepEqual(parseMsgpackServerFrame(msgpackFrames.answer(refusal)), { kind: 'answer', answer: refusal });
  const publish = { type: 'publish', author: 'ada', text: 'hi 🦊', ref: 'r1' };
  assert.deepEqual(readClientFrame(SUBPROTOCOLS.msgpack, msgpackFrames.publish(publish), true), {
    ok: true,
    value: publish,
  });
  const asJson = new TextEncoder().encode(websocketFrames.publish(publish));
  assert.deepEqual(readClientFrame(SUBPROTOCOLS.json, asJson, false), { ok: true, value: publish });
  assert.equal(readClientFrame(SUBPROTOCOLS.msgpack, asJson, false).ok, false);
  assert.equal(readClientFrame(SUBPROTOCOLS.json, msgpackFrames.publish(publish), true).ok, false);
});

test('websocket subprotocols: the first offer spoken, JSON for none, nothing for only unknown ones', () => {
  assert.equal(chooseSubprotocol([]), SUBPROTOCOLS.json);
  assert.equal(chooseSubprotocol(['x', SUBPROTOCOLS.msgpack, SUBPROTOCOLS.json]), SUBPROTOCOLS.msgpack);
  assert.equal(chooseSubprotocol([SUBPROTOCOLS.json, SUBPROTOCOLS.msgpack]), SUBPROTOCOLS.json);
  assert.equal(chooseSubprotocol(['wamp.2.json', 'wamp.2.msgpack']), undefined);
});

test('backoff: each wait stays within its jittered bounds, and grows to the ceiling', () => {
  for (const attempt of [0, 1, 2, 3, 10]) {
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt);
    assert.equal(
      reconnectDelay(attempt, () => 0),
      base * (1 - RECONNECT_JITTER),
    );
    assert.equal(
      reconnectDelay(attempt, () => 0.5),
      base,
    );
    assert.ok(reconnectDelay(attempt, () => 0.999_999) < base * (1 + RECONNECT_JITTER));
  }
});

test('registry: ids are URL-safe and unique, colours distinct, and capabilities select', () => {
  const ids = techniques.map((technique) => technique.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z][a-z0-9-]*$/);
  assert.equal(new Set(techniques.map((technique) => technique.colour)).size, ids.length);
  // Every technique is either polled while idle or pushed to, never neither.
  for (const technique of techniques)
    assert.ok(
      technique.capabilities.pollsWhenIdle !== (technique.capabilities.holdsRequest || technique.capabilities.upgrades),
      technique.id,
    );
  assert.deepEqual(
    withCapabilities({ upgrades: true }).map((technique) => technique.id),
    ids.filter((id) => techniques.find((t) => t.id === id)?.capabilities.upgrades),
  );
  assert.equal(withCapabilities({}).length, ids.length);
});
