/**
 * The WebSocket subprotocols, on every technique reached by an upgrade: what each offer
 * gets (`socket.protocol`, the frames), the refusal of an offer with nothing spoken in
 * it, publishing in MessagePack, and the MessagePack library as the pages load it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../bench/browser/chromium.ts';
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';
import { SUBPROTOCOLS, msgpackFrames } from './contract/formats/websocket.js';
import { withCapabilities } from './contract/techniques.js';
import { after, before, describe, test } from '../test/suite.ts';
import { type TestServer, publish, startServer, until } from '../test/support.ts';
import { CHROMIUM, needs } from '../test/tools.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

type TestContext = import('node:test').TestContext;

/** A socket on `id` offering `offers`, open, with every frame it gets (binary ones decoded). */
async function offer(t: TestContext, server: TestServer, id: string, offers: string[]) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/${id}`, offers);
  const frames: { binary: boolean; value: Record<string, unknown> }[] = [];
  socket.on('message', (data: Buffer, binary) => {
    const value = (binary ? decode(data) : JSON.parse(data.toString())) as Record<string, unknown>;
    frames.push({ binary, value });
  });
  await once(socket, 'open');
  t.after(() => socket.terminate());
  await until(() => frames.length > 0, 'the epoch frame');
  return { socket, frames };
}

for (const { id } of withCapabilities({ upgrades: true })) {
  describe(`${id}: subprotocols`, () => {
    const cases: { offers: string[]; protocol: string; binary: boolean }[] = [
      { offers: [], protocol: '', binary: false },
      { offers: [SUBPROTOCOLS.json], protocol: SUBPROTOCOLS.json, binary: false },
      { offers: [SUBPROTOCOLS.msgpack], protocol: SUBPROTOCOLS.msgpack, binary: true },
      { offers: [SUBPROTOCOLS.msgpack, SUBPROTOCOLS.json], protocol: SUBPROTOCOLS.msgpack, binary: true },
      { offers: [SUBPROTOCOLS.json, SUBPROTOCOLS.msgpack], protocol: SUBPROTOCOLS.json, binary: false },
      { offers: ['wamp.2.json', SUBPROTOCOLS.msgpack], protocol: SUBPROTOCOLS.msgpack, binary: true },
    ];
    for (const { offers, protocol, binary } of cases) {
      test(`offering [${offers.join(', ')}] gets ${protocol || 'no subprotocol'}, ${binary ? 'binary' : 'text'} frames`, async (t) => {
        const server = await startServer(t);
        const { socket, frames } = await offer(t, server, id, offers);
        assert.equal(socket.protocol, protocol);
        assert.deepEqual(frames[0], { binary, value: { type: 'epoch', epoch: server.feed.epoch } });
        const message = await publish(server.url, { author: 'ada', text: 'hello' });
        await until(() => frames.length === 2, 'the message');
        assert.deepEqual(frames[1], { binary, value: message });
      });
    }

    test('an offer with nothing spoken in it is refused with 400 before the upgrade, naming what is spoken', async (t) => {
      const server = await startServer(t);
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/${id}`, ['wamp.2.json', 'chat']);
      socket.on('error', () => undefined); // the refusal is read from the response below
      const [, response] = (await once(socket, 'unexpected-response')) as [
        unknown,
        import('node:http').IncomingMessage,
      ];
      let body = '';
      for await (const chunk of response) body += chunk;
      socket.terminate();
      assert.equal(response.statusCode, 400);
      const error = JSON.parse(body) as Record<string, unknown>;
      assert.equal(error.code, 'RTL_UNSUPPORTED_SUBPROTOCOL');
      const text = String(error.message);
      for (const name of ['wamp.2.json, chat', SUBPROTOCOLS.json, SUBPROTOCOLS.msgpack])
        assert.ok(text.includes(name), text);
    });

    test('a publish in MessagePack is acked in MessagePack and reaches a JSON client', async (t) => {
      const server = await startServer(t);
      const packed = await offer(t, server, id, [SUBPROTOCOLS.msgpack]);
      const plain = await offer(t, server, id, []);
      packed.socket.send(msgpackFrames.publish({ author: 'ada', text: 'packed 🦊', ref: 'r1' }));
      await until(() => packed.frames.some((frame) => frame.value.type === 'ack'), 'the ack');
      assert.deepEqual(
        packed.frames.find((frame) => frame.value.type === 'ack'),
        { binary: true, value: { type: 'ack', id: 1, ref: 'r1' } },
      );
      await until(() => plain.frames.length === 2, 'the message on the JSON socket');
      const { ts, ...rest } = plain.frames[1]?.value ?? {};
      assert.deepEqual(rest, { id: 1, author: 'ada', text: 'packed 🦊' });
      assert.equal(typeof ts, 'number');
    });

    test('in MessagePack, bad bytes and text frames get error frames, as bad JSON does', async (t) => {
      const server = await startServer(t);
      const { socket, frames } = await offer(t, server, id, [SUBPROTOCOLS.msgpack]);
      socket.send(Buffer.from([0xc1])); // a byte MessagePack never uses
      socket.send(encode({ type: 'publish', author: 'ada', text: 'hi' }).slice(0, -2)); // cut short
      socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: 'hi' }));
      socket.send(msgpackFrames.publish({ author: '', text: 'hi' }));
      await until(() => frames.length === 5, 'four answers');
      const answers = frames.slice(1);
      assert.ok(
        answers.every((frame) => frame.binary && frame.value.type === 'error'),
        JSON.stringify(answers),
      );
      assert.match(String(answers[0]?.value.message), /not MessagePack/);
      assert.match(String(answers[1]?.value.message), /not MessagePack/);
      assert.match(String(answers[2]?.value.message), /text frames are not accepted/);
      assert.match(String(answers[3]?.value.message), /author/);
      assert.equal(server.feed.lastId, 0);
    });

    test('the wire meter counts a MessagePack message by its MessagePack bytes', async (t) => {
      const server = await startServer(t);
      await offer(t, server, id, [SUBPROTOCOLS.msgpack]);
      const message = await publish(server.url, { author: 'ada', text: 'counted' });
      const stats = async () =>
        (
          (await (await fetch(`${server.url}/api/stats`)).json()) as {
            techniques: Record<string, Record<string, number>>;
          }
        ).techniques[id];
      const deadline = Date.now() + 5000;
      let counters = await stats();
      while (counters?.messagesDelivered !== 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        counters = await stats();
      }
      assert.equal(counters?.messagesDelivered, 1);
      assert.equal(counters?.payloadBytes, encode(message).byteLength);
      assert.notEqual(encode(message).byteLength, Buffer.byteLength(JSON.stringify(message)));
    });
  });
}

describe('the pages load the contract with MessagePack', needs(CHROMIUM), () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  test('a page imports /contract/formats/websocket.js and round-trips a MessagePack frame', async (t) => {
    const server = await startServer(t);
    const page = await browser.newPage();
    t.after(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/`);
    const frame = await page.evaluate(async () => {
      const contract = '/contract/formats/websocket.js';
      const { msgpackFrames: frames, parseMsgpackServerFrame } = await import(contract);
      return parseMsgpackServerFrame(frames.answer({ type: 'ack', id: 7, ref: 'r' }));
    });
    assert.deepEqual(frame, { kind: 'answer', answer: { type: 'ack', id: 7, ref: 'r' } });
    assert.deepEqual(errors, []);
  });
});
