/**
 * The classroom list (`GET /api/classroom`) with real clients of every technique: each
 * listed under its nickname with moving figures and the delay its page reported, no
 * address anywhere, gone after it closes; delay reports checked (400) and rate-limited
 * (429); and on two nodes sharing Redis, each node's clients listed by the other.
 */
import assert from 'node:assert/strict';
import { type FeedClient, clientFor } from '../test/clients/index.ts';
import { publish, startServer, usePrivateRedis } from '../test/support.ts';
import { describe, test } from '../test/suite.ts';
import { REDIS, needs } from '../test/tools.ts';
import { type ClassroomAnswer, SAMPLE_MS } from './classroom.ts';
import type { Config } from './config.ts';
import { techniques } from './contract/techniques.js';

const redis = usePrivateRedis();

async function room(url: string): Promise<ClassroomAnswer> {
  return (await (await fetch(`${url}/api/classroom`)).json()) as ClassroomAnswer;
}

/** Resolves once `condition(answer)` holds for a fresh answer, asking every 100 ms, for up to `timeoutMs`. */
async function eventually(
  url: string,
  condition: (answer: ClassroomAnswer) => boolean,
  what: string,
  timeoutMs = 5000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: ClassroomAnswer | undefined;
  for (;;) {
    last = await room(url);
    if (condition(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function report(url: string, client: string | undefined, body: unknown, type = 'application/json') {
  const query = client === undefined ? '' : `?client=${client}`;
  return fetch(`${url}/api/classroom/delays${query}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const CLIENT = 'page-abcd1234';

describe('the classroom list', () => {
  test('lists every technique of a client under its nickname, with figures and its delay, no address, then lets it go', async (t) => {
    const server = await startServer(t, { classroomLeaveAfterMs: 300 });
    const clients: FeedClient[] = [];
    for (const technique of techniques)
      clients.push(await clientFor(technique)(server.url, { chatter: { client: CLIENT, nick: 'ada' } }));
    t.after(() => Promise.all(clients.map((client) => client.close())));
    await publish(server.url, { author: 'teacher', text: 'hello class' });
    const everyTechnique = (answer: ClassroomAnswer) =>
      techniques.every((technique) => (answer.nodes[0]?.clients[0]?.techniques[technique.id]?.bytesOut ?? 0) > 0);
    const listed = await eventually(server.url, everyTechnique, 'the client listed with bytes on every technique');
    const [only] = listed.nodes[0]?.clients ?? [];
    assert.equal(listed.nodes[0]?.clients.length, 1);
    assert.equal(only?.nick, 'ada');
    assert.equal(only?.tag, '1234', 'a short tag, never the whole id');
    assert.doesNotMatch(JSON.stringify(listed), /127\.0\.0\.1|abcd1234|::1/, 'no address, no whole client id');
    assert.equal(listed.room.clients, 1);
    for (const technique of techniques) assert.ok((listed.byTechnique[technique.id]?.requests ?? 0) >= 1);

    const [first, second] = techniques;
    assert.ok(first && second);
    const accepted = await report(server.url, CLIENT, { delays: { [first.id]: 12.5, [second.id]: 40 } });
    assert.equal(accepted.status, 204);
    const tooSoon = await report(server.url, CLIENT, { delays: { [first.id]: 1 } });
    assert.equal(tooSoon.status, 429);
    assert.equal(tooSoon.headers.get('retry-after'), '1');
    const withDelay = await eventually(
      server.url,
      (answer) => answer.nodes[0]?.clients[0]?.techniques[first.id]?.delayMs === 12.5,
      'the reported delay listed',
    );
    assert.equal(withDelay.byTechnique[second.id]?.delayMs, 40);
    assert.equal(withDelay.room.delayMs, (12.5 + 40) / 2);

    for (const client of clients) await client.close();
    await eventually(server.url, (answer) => answer.room.clients === 0, 'the client gone once closed', 3000);
  });

  test('a client whose connection stays open stays listed past the leave delay, and leaves once it closes', async (t) => {
    // The classroom keeps no listener per request: each sample asks the wire meter for the
    // client's open requests. A WebSocket opened once and then silent makes no request
    // after its handshake, so only that count keeps it listed for three samples here.
    const server = await startServer(t, { classroomLeaveAfterMs: 300 });
    const websocket = techniques.find((technique) => technique.capabilities.upgrades);
    assert.ok(websocket);
    const client = await clientFor(websocket)(server.url, { chatter: { client: CLIENT, nick: 'ada' } });
    t.after(() => client.close());
    const listed = (answer: ClassroomAnswer) => answer.room.clients === 1;
    await eventually(server.url, listed, 'the client listed');
    await new Promise((resolve) => setTimeout(resolve, 3 * SAMPLE_MS + 300));
    assert.ok(listed(await room(server.url)), 'still listed after three samples with its connection open');
    await client.close();
    await eventually(server.url, (answer) => answer.room.clients === 0, 'the client gone once closed', 3000);
  });

  test('a delay report that is not one is a 400, and makes nobody appear', async (t) => {
    const server = await startServer(t);
    const [first] = techniques;
    assert.ok(first);
    const poller = await clientFor(first)(server.url, { chatter: { client: CLIENT, nick: 'ada' } });
    t.after(() => poller.close());
    const garbage: [string | undefined, unknown, string?][] = [
      [undefined, { delays: { [first.id]: 1 } }],
      ['a%20b', { delays: { [first.id]: 1 } }],
      ['nobody-here', { delays: { [first.id]: 1 } }],
      [CLIENT, { delays: { 'no-such-technique': 1 } }],
      [CLIENT, { delays: { [first.id]: -1 } }],
      [CLIENT, { delays: { [first.id]: '12' } }],
      [CLIENT, { delays: { [first.id]: 1e9 } }],
      [CLIENT, { delays: [] }],
      [CLIENT, { latency: 1 }],
      [CLIENT, 'null'],
      [CLIENT, `{"delays":{"${first.id}":1}}`, 'text/plain'],
    ];
    for (const [client, body, type] of garbage) {
      const answer = await report(server.url, client, body, type);
      assert.equal(answer.status, 400, `${client} ${JSON.stringify(body)} ${type ?? ''}: ${await answer.text()}`);
    }
    const answer = await room(server.url);
    assert.doesNotMatch(JSON.stringify(answer), /here/, 'a report does not list its client');
  });
});

describe('the classroom on two nodes sharing Redis', needs(REDIS), () => {
  test("each node's clients are listed by the other, under their node", async (t) => {
    const shared: Partial<Config> = { feed: redis().url as Config['feed'], redisKeyPrefix: 'classroom-nodes' };
    const a = await startServer(t, { config: shared, classroomLeaveAfterMs: 300 });
    const b = await startServer(t, { config: shared, classroomLeaveAfterMs: 300 });
    const [first] = techniques;
    assert.ok(first);
    const onA = await clientFor(first)(a.url, { chatter: { client: 'page-aaaa0001', nick: 'ada' } });
    const onB = await clientFor(first)(b.url, { chatter: { client: 'page-bbbb0002', nick: 'bob' } });
    t.after(() => Promise.all([onA.close(), onB.close()]));
    const both = (answer: ClassroomAnswer) =>
      answer.nodes
        .flatMap((node) => node.clients.map((client) => `${client.nick}@${node.node}`))
        .sort()
        .join() === [`ada@${a.classroom.node}`, `bob@${b.classroom.node}`].sort().join();
    await eventually(a.url, both, 'both nodes listed on a');
    await eventually(b.url, both, 'both nodes listed on b');
    await onA.close();
    await eventually(b.url, (answer) => answer.room.clients === 1, 'ada gone from b', 4000);
  });
});
