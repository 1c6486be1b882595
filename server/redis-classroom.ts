/**
 * The classroom across every node that shares a feed on Redis, as the chat's presence is
 * shared (redis-presence.ts): one hash beside the feed's keys (same hash tag), one field
 * per node holding that node's report (at most MAX_LISTED clients) and its own expiry. A
 * node rewrites its field every sample; a node that dies leaves a field that expires, and
 * the next reader deletes it.
 */
import { Redis } from 'ioredis';
import type { NodeReport } from './classroom.ts';

/** The hash of every node's classroom report, for the feed under `prefix`. */
export function classroomKey(prefix: string): string {
  return `{${prefix}}:classroom`;
}

/** Where a node shares its classroom report with the others. */
export interface SharedClassroom {
  write(report: NodeReport, expires: number): Promise<void>;
  remove(node: string): Promise<void>;
  /** Every node's report that has not expired. */
  readAll(): Promise<NodeReport[]>;
  close(): Promise<void>;
}

/** The shared classroom on the Redis at `url`, beside the feed under `prefix`. */
export function redisClassroom(url: string, prefix: string): SharedClassroom {
  const key = classroomKey(prefix);
  const redis = new Redis(url, {
    connectionName: 'realtime-lab-classroom',
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  // The feed says when Redis is away; the teacher's page then shows this node alone.
  redis.on('error', () => {});
  return {
    async write(report, expires) {
      // An empty node takes no room: readers skip it until it has clients again.
      if (report.clients.length === 0 && report.unlisted === 0) await redis.hdel(key, report.node);
      else await redis.hset(key, report.node, JSON.stringify({ ...report, expires }));
    },
    async remove(node) {
      await redis.hdel(key, node);
    },
    async readAll() {
      const now = Date.now();
      const alive: NodeReport[] = [];
      const expired: string[] = [];
      for (const [node, json] of Object.entries(await redis.hgetall(key))) {
        const { expires, ...report } = JSON.parse(json) as NodeReport & { expires: number };
        if (expires > now) alive.push(report);
        else expired.push(node);
      }
      if (expired.length > 0) await redis.hdel(key, ...expired);
      return alive;
    },
    async close() {
      redis.disconnect();
    },
  };
}
