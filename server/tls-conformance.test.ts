/**
 * Every registered technique over TLS, with its wire format's real client: over HTTP/2
 * (requests as streams of one session; a WebSocket still an HTTP/1.1 upgrade over
 * wss://) and over HTTP/1.1 with TLS, the basic contract: replay from a cursor, live
 * delivery, resuming from where a client was after reconnecting, and publishing.
 */
import assert from 'node:assert/strict';
import { clientFor } from '../test/clients/index.ts';
import type { TlsProtocol } from '../test/tls-fetch.ts';
import { describe, test } from '../test/suite.ts';
import { publish, startServer } from '../test/support.ts';
import { techniques } from './contract/techniques.js';

const PROTOCOLS: TlsProtocol[] = ['h2', 'http/1.1'];

for (const tls of PROTOCOLS)
  for (const technique of techniques) {
    const open = clientFor(technique);
    describe(`${technique.id} over TLS (${tls})`, () => {
      test('replays from a cursor, then delivers live', async (t) => {
        const server = await startServer(t, { tls });
        const first = await publish(server.url, { author: 'ada', text: 'one' });
        const second = await publish(server.url, { author: 'ada', text: 'two' });
        const client = await open(server.url, { since: first.id, epoch: server.feed.epoch });
        t.after(() => client.close());
        await client.received(1);
        const live = await publish(server.url, { author: 'ada', text: 'three' });
        await client.received(2);
        assert.deepEqual(client.messages, [second, live]);
        assert.deepEqual(client.events, []);
        assert.deepEqual(
          [...server.httpVersions],
          [tls === 'h2' ? '2.0' : '1.1'],
          'every request in the protocol asked for',
        );
      });

      test('resumes from its position after reconnecting, missing nothing and repeating nothing', async (t) => {
        const server = await startServer(t, { tls });
        const client = await open(server.url, { since: 0 });
        const before = await publish(server.url, { author: 'ada', text: 'before' });
        await client.received(1);
        await client.close();
        const { cursor, epoch } = client.position;
        const whileAway = await publish(server.url, { author: 'ada', text: 'while away' });
        const again = await open(server.url, { since: cursor, epoch });
        t.after(() => again.close());
        await again.received(1);
        const after = await publish(server.url, { author: 'ada', text: 'after' });
        await again.received(2);
        assert.deepEqual(client.messages, [before]);
        assert.deepEqual(again.messages, [whileAway, after]);
      });

      test('counts its requests and messages in /api/stats, with the bytes its connection carried', async (t) => {
        const server = await startServer(t, { tls });
        const client = await open(server.url, { since: 0 });
        t.after(() => client.close());
        await publish(server.url, { author: 'ada', text: 'counted' });
        await client.received(1);
        const counters = server.wire.snapshot()[technique.id];
        assert.ok(counters);
        assert.ok(counters.httpRequests >= 1, 'its requests are counted');
        assert.equal(counters.messagesDelivered, 1);
        assert.ok(counters.bytesOut.body >= counters.payloadBytes, 'the body carries the payload');
        assert.ok(counters.bytesIn.headers > 0, 'its request headers were counted');
      });
    });
  }
