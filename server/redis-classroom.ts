/**
 * The classroom across every node that shares a feed on Redis, as the chat's presence is
 * shared: one expiring hash (redis-expiring-hash.ts) beside the feed's keys (same hash
 * tag), one field per node holding that node's report (at most MAX_LISTED clients). A
 * node rewrites its field every sample; if the teacher's node cannot read Redis, its page
 * shows that node alone.
 */
import type { NodeReport } from './classroom.ts';
import { redisExpiringHash } from './redis-expiring-hash.ts';

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
  const hash = redisExpiringHash<NodeReport>(url, classroomKey(prefix), 'realtime-lab-classroom');
  return {
    // An empty node takes no room: readers skip it until it has clients again.
    write: (report, expires) =>
      report.clients.length === 0 && report.unlisted === 0
        ? hash.remove([report.node])
        : hash.write([[report.node, report]], expires),
    remove: (node) => hash.remove([node]),
    readAll: () => hash.readAll(),
    close: () => hash.close(),
  };
}
