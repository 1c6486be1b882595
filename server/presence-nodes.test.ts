/**
 * Presence across two nodes sharing one feed on Redis: a chatter on either node is listed
 * by both, its join is announced on both, and its departure, noticed by its own node,
 * takes it off both lists.
 */
import assert from 'node:assert/strict';
import { type FeedClient, clientFor } from '../test/clients/index.ts';
import { startServer, until, usePrivateRedis } from '../test/support.ts';
import { describe, test } from '../test/suite.ts';
import { REDIS, needs } from '../test/tools.ts';
import type { Config } from './config.ts';
import { SYSTEM_AUTHOR } from './contract/feed.js';
import { techniques } from './contract/techniques.js';

const redis = usePrivateRedis();

async function nicksOn(url: string): Promise<string[]> {
  const answer = (await (await fetch(`${url}/api/presence`)).json()) as { online: Record<string, { nick: string }[]> };
  return Object.entries(answer.online)
    .flatMap(([technique, chatters]) => chatters.map((chatter) => `${chatter.nick}@${technique}`))
    .sort();
}

/** Resolves once `condition()` resolves true, asking every 50 ms; rejects with `what` after 5 s. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('presence on two nodes sharing Redis', needs(REDIS), () => {
  test('a chatter of every technique on one node is listed and announced on the other, and leaves both', async (t) => {
    const shared: Partial<Config> = { feed: redis().url as Config['feed'], redisKeyPrefix: 'presence-nodes' };
    const a = await startServer(t, { config: shared, presenceGraceMs: 300 });
    const b = await startServer(t, { config: shared, presenceGraceMs: 300 });
    const [first] = techniques;
    assert.ok(first);
    const watcherOnB = await clientFor(first)(b.url, {});
    t.after(() => watcherOnB.close());
    const chatters: FeedClient[] = [];
    for (const technique of techniques) {
      chatters.push(await clientFor(technique)(a.url, { chatter: { client: 'c1', nick: 'ada' } }));
    }
    const everywhere = techniques.map((technique) => `ada@${technique.id}`).sort();
    await eventually(
      async () => JSON.stringify(await nicksOn(b.url)) === JSON.stringify(everywhere),
      'ada listed on b',
    );
    assert.deepEqual(await nicksOn(a.url), everywhere);
    const joins = () => watcherOnB.messages.filter((m) => m.author === SYSTEM_AUTHOR && / joined /.test(m.text));
    await until(
      () => joins().length === techniques.length,
      () => `joins on b: ${joins().map((m) => m.text)}`,
    );
    for (const chatter of chatters) await chatter.close();
    await eventually(async () => (await nicksOn(b.url)).length === 0, 'ada gone from b');
  });
});
