/**
 * The chat's presence under a flood: a client that names a fresh client id and nickname on
 * every short poll must not flood the feed with joins (a join takes from the publish
 * limit) nor grow the registry without end (the presence caps), while an honest chatter
 * from another address is still announced. Plain HTTP requests from chosen loopback
 * addresses (Linux answers all of 127.0.0.0/8), so the addresses differ as a classroom's would.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer } from '../test/support.ts';
import { test } from '../test/suite.ts';
import { SYSTEM_AUTHOR } from './contract/feed.js';
import { techniques } from './contract/techniques.js';
import type { Feed } from './feed.ts';

const [poller] = techniques.filter((technique) => technique.capabilities.pollsWhenIdle);
assert.ok(poller, 'a technique that polls');
const FLOOD = 120;

/** One short poll from `localAddress` as `client` known as `nick`; resolves with its status. */
function poll(url: string, localAddress: string, client: string, nick: string): Promise<number> {
  const target = new URL(`${url}/api/${poller?.id}`);
  target.searchParams.set('client', client);
  target.searchParams.set('nick', nick);
  return new Promise((resolve, reject) => {
    const asked = request(target, { localAddress, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    asked.on('error', reject);
    asked.end();
  });
}

async function flood(url: string, localAddress: string, prefix: string): Promise<void> {
  const statuses = await Promise.all(
    Array.from({ length: FLOOD }, (_, i) => poll(url, localAddress, `${prefix}-c${i}`, `${prefix}-n${i}`)),
  );
  // Reading the feed is never refused: only the announcement is.
  assert.deepEqual(new Set(statuses), new Set([200]));
}

async function joins(feed: Feed): Promise<string[]> {
  const { messages } = await feed.since(0);
  return messages.filter((m) => m.author === SYSTEM_AUTHOR && m.text.includes(' joined ')).map((m) => m.text);
}

test('a flood of polls with fresh ids and nicknames announces no more joins than the publish limit allows', async (t) => {
  const burst = 10;
  const server = await startServer(t, {
    config: {
      publishRatePerClient: 50,
      publishBurst: 100,
      publishRatePerAddress: 1,
      publishBurstPerAddress: burst,
      maxConnectionsPerAddress: 0,
    },
  });
  const started = performance.now();
  await flood(server.url, '127.0.0.1', 'flood');
  const seconds = (performance.now() - started) / 1000;
  const flooded = await joins(server.feed);
  const allowed = burst + Math.ceil(seconds * 1);
  assert.ok(flooded.length <= allowed, `${flooded.length} joins announced, at most ${allowed} allowed`);
  assert.ok(server.presence.size <= allowed, `${server.presence.size} chatters kept, at most ${allowed} allowed`);
  // The address's bucket is empty; another address's chatter is still announced and listed.
  assert.equal(await poll(server.url, '127.0.0.2', 'honest', 'ada'), 200);
  assert.ok((await joins(server.feed)).includes(`ada joined (${poller?.id})`), 'the honest chatter announced');
});

test('the registry keeps at most PRESENCE_MAX_CHATTERS_PER_ADDRESS from one address and PRESENCE_MAX_CHATTERS in all', async (t) => {
  const perAddress = 20;
  const inAll = 30;
  const server = await startServer(t, {
    config: {
      publishRatePerClient: 1000,
      publishBurst: 1000,
      publishRatePerAddress: 1000,
      publishBurstPerAddress: 1000,
      presenceMaxChatters: inAll,
      presenceMaxChattersPerAddress: perAddress,
      maxConnectionsPerAddress: 0,
    },
  });
  await flood(server.url, '127.0.0.1', 'one');
  assert.equal((await joins(server.feed)).length, perAddress);
  assert.equal(server.presence.size, perAddress);
  // A second address gets room of its own, up to what is left of the node's.
  assert.equal(await poll(server.url, '127.0.0.2', 'honest', 'ada'), 200);
  assert.ok((await joins(server.feed)).includes(`ada joined (${poller?.id})`), 'the honest chatter announced');
  await flood(server.url, '127.0.0.3', 'two');
  assert.equal((await joins(server.feed)).length, inAll);
  assert.equal(server.presence.size, inAll);
  const listed = (await (await fetch(`${server.url}/api/presence`)).json()) as { online: Record<string, unknown[]> };
  assert.equal(listed.online[poller?.id ?? '']?.length, inAll);
});
