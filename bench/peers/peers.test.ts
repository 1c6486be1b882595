/**
 * Each peer server with its own library's client: a message published through the
 * bench's API reaches each of 3 subscribers exactly once, as the message realtime-lab
 * would have sent (id, ts, author, text), and the server counts its subscribers' bytes
 * (not the publisher's) at `/__bench/wire`. One server process per program; the SockJS
 * one serves its five transports' peers in turn.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from '../../test/suite.ts';
import { until } from '../../test/support.ts';
import { calibrate } from '../clock.ts';
import { DeliveryTracker } from '../delivery.ts';
import { type ServerProcess, startServerProcess } from '../server-process.ts';
import { subscribe } from './clients/common.ts';
import { PEERS, type Peer } from './peers.ts';

const SUBSCRIBERS = 3;
const servers = new Map<string, Promise<ServerProcess>>();
after(async () => {
  for (const server of servers.values()) await (await server).stop();
});

/** The peer's server program, started once for every peer that shares it. */
function serverOf(peer: Peer): Promise<ServerProcess> {
  const key = `${peer.script} ${JSON.stringify(peer.env)}`;
  let server = servers.get(key);
  if (!server) {
    server = startServerProcess(peer.env, peer.script);
    servers.set(key, server);
  }
  return server;
}

async function wire(baseUrl: string): Promise<{ bytes: number; sockets: number }> {
  return (await (await fetch(`${baseUrl}/__bench/wire`)).json()) as { bytes: number; sockets: number };
}

describe('peer servers with their own clients', () => {
  for (const peer of PEERS) {
    test(`${peer.name}: one published message reaches each of ${SUBSCRIBERS} subscribers exactly once`, async () => {
      const { baseUrl } = await serverOf(peer);
      const clock = await calibrate(baseUrl, 3);
      const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as Record<string, unknown>;
      const author = `test-${peer.name}`;
      const tracker = new DeliveryTracker(author, SUBSCRIBERS);
      const before = await wire(baseUrl);
      const subscribers = subscribe(peer.peerClient, { baseUrl, clients: SUBSCRIBERS, tracker, clock, health });
      try {
        await subscribers.ready;
        const text = `hello from ${peer.name}`;
        const answer = await fetch(`${baseUrl}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ author, text }),
        });
        assert.equal(answer.status, 201);
        const message = (await answer.json()) as { id: number; ts: number; author: string; text: string };
        assert.deepEqual(Object.keys(message), ['id', 'ts', 'author', 'text'], 'the message realtime-lab sends');
        assert.equal(message.text, text);
        await until(() => tracker.hasAll([message.id]), `${peer.name}: every subscriber has message ${message.id}`);
        // Time for a repeat to arrive, if the library or the server sent one.
        await sleep(300);
        const figures = tracker.figures();
        assert.equal(figures.messagesDelivered, SUBSCRIBERS);
        assert.equal(figures.duplicates, 0);
        // A delay per receipt, on the server's clock (its sign is left alone: on a loaded
        // machine the clock's offset is known only to half a round trip).
        assert.equal(figures.latencyMs?.samples, SUBSCRIBERS);
        assert.ok(Math.abs(figures.latencyMs?.max ?? 0) < 5000, JSON.stringify(figures.latencyMs));
        const after = await wire(baseUrl);
        assert.ok(
          after.bytes - before.bytes >= SUBSCRIBERS * Buffer.byteLength(JSON.stringify(message)),
          `the subscribers' sockets carried each message at least: ${after.bytes - before.bytes} bytes`,
        );
      } finally {
        await subscribers.stop();
      }
    });
  }

  test('the publisher is not a subscriber: its bytes are not counted', async () => {
    const peer = PEERS[0] as Peer;
    const { baseUrl } = await serverOf(peer);
    const before = await wire(baseUrl);
    for (let i = 0; i < 5; i++)
      await fetch(`${baseUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'nobody-listens', text: 'x'.repeat(500) }),
      });
    const after = await wire(baseUrl);
    assert.equal(after.bytes, before.bytes);
  });

  test('a bad publish is refused with the reason, as realtime-lab refuses it', async () => {
    const { baseUrl } = await serverOf(PEERS[0] as Peer);
    const answer = await fetch(`${baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'ada', text: 12 }),
    });
    assert.equal(answer.status, 400);
    assert.match(((await answer.json()) as { error: string }).error, /"text" must be a string/);
  });
});
