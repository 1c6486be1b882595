/**
 * A Redis hash whose fields each carry their own expiry, shared by every node of one
 * feed: the chat's presence (redis-presence.ts) and the classroom (redis-classroom.ts).
 * A node writes its fields as they change and again while they last; a node that dies
 * leaves fields that expire on their own, and the next reader deletes them. Redis being
 * away is the feed's to report: here a failed command fails its promise, no more.
 */
import { Redis } from 'ioredis';

/** A hash of values of type T, each stored with the epoch ms after which nobody vouches for it. */
export interface ExpiringHash<T> {
  /** Writes each [field, value], vouched for until `expires` (epoch ms). */
  write(entries: Iterable<readonly [string, T]>, expires: number): Promise<void>;
  remove(fields: readonly string[]): Promise<void>;
  /** Every value not expired; the expired ones are deleted on the way. */
  readAll(): Promise<T[]>;
  close(): Promise<void>;
}

/** The hash `key` on the Redis at `url`, on a connection of its own named `connectionName`. */
export function redisExpiringHash<T extends object>(url: string, key: string, connectionName: string): ExpiringHash<T> {
  const redis = new Redis(url, {
    connectionName,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  // The feed says when Redis is away; what is shared is only as fresh as Redis allows.
  redis.on('error', () => {});
  return {
    async write(entries, expires) {
      const fields: string[] = [];
      for (const [field, value] of entries) fields.push(field, JSON.stringify({ ...value, expires }));
      if (fields.length > 0) await redis.hset(key, ...fields);
    },
    async remove(fields) {
      if (fields.length > 0) await redis.hdel(key, ...fields);
    },
    async readAll() {
      const now = Date.now();
      const alive: T[] = [];
      const expired: string[] = [];
      for (const [field, json] of Object.entries(await redis.hgetall(key))) {
        const { expires, ...value } = JSON.parse(json) as T & { expires: number };
        if (expires > now) alive.push(value as unknown as T);
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
