/**
 * Who is online across every node that shares a feed on Redis: one hash beside the
 * feed's keys (the same hash tag, so a Redis Cluster keeps them in one slot), a field per
 * chatter per node, each value carrying its own expiry. A node writes its chatters as they
 * come and every second after, and deletes them as it notices them gone; a node that dies
 * leaves entries that expire on their own, and the next reader deletes them.
 */
import { Redis } from 'ioredis';
import type { Chatter } from './presence.ts';

/** The hash of who is online, for the feed under `prefix`. */
export function presenceKey(prefix: string): string {
  return `{${prefix}}:presence`;
}

/** A chatter as stored in the hash. */
interface Stored extends Chatter {
  /** Epoch ms after which nobody vouches for it any more (its node stopped writing). */
  expires: number;
}

/** Where a node shares its chatters with the others. */
export interface SharedPresence {
  /** Writes this node's chatters, keyed by a field unique to this node and chatter. */
  write(chatters: ReadonlyMap<string, Chatter>, expires: number): Promise<void>;
  /** Deletes chatters this node noticed gone. */
  remove(fields: readonly string[]): Promise<void>;
  /** Everyone online on every node. */
  readAll(): Promise<Chatter[]>;
  close(): Promise<void>;
}

/** The shared presence on the Redis at `url`, beside the feed under `prefix`. */
export function redisPresence(url: string, prefix: string): SharedPresence {
  const key = presenceKey(prefix);
  const redis = new Redis(url, {
    connectionName: 'realtime-lab-presence',
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  // The feed says when Redis is away; the list is only as fresh as Redis allows.
  redis.on('error', () => {});
  return {
    async write(chatters, expires) {
      if (chatters.size === 0) return;
      const fields: string[] = [];
      for (const [field, chatter] of chatters) fields.push(field, JSON.stringify({ ...chatter, expires }));
      await redis.hset(key, ...fields);
    },
    async remove(fields) {
      if (fields.length > 0) await redis.hdel(key, ...fields);
    },
    async readAll() {
      const now = Date.now();
      const stored = await redis.hgetall(key);
      const alive: Chatter[] = [];
      const expired: string[] = [];
      for (const [field, json] of Object.entries(stored)) {
        const { expires, ...chatter } = JSON.parse(json) as Stored;
        if (expires > now) alive.push(chatter);
        else expired.push(field);
      }
      if (expired.length > 0) await redis.hdel(key, ...expired);
      return alive;
    },
    async close() {
      redis.disconnect();
    },
  };
}
