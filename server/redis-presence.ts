/**
 * Who is online across every node that shares a feed on Redis: one expiring hash
 * (redis-expiring-hash.ts) beside the feed's keys (the same hash tag, so a Redis Cluster
 * keeps them in one slot), a field per chatter per node. A node writes its chatters as they
 * come and every second after, and deletes them as it notices them gone.
 */
import type { Chatter } from './presence.ts';
import { type ExpiringHash, redisExpiringHash } from './redis-expiring-hash.ts';

/** The hash of who is online, for the feed under `prefix`. */
export function presenceKey(prefix: string): string {
  return `{${prefix}}:presence`;
}

/**
 * Where a node shares its chatters with the others: fields unique to a node and chatter,
 * written while the chatter is here, removed when this node notices it gone.
 */
export type SharedPresence = ExpiringHash<Chatter>;

/** The shared presence on the Redis at `url`, beside the feed under `prefix`. */
export function redisPresence(url: string, prefix: string): SharedPresence {
  return redisExpiringHash<Chatter>(url, presenceKey(prefix), 'realtime-lab-presence');
}
