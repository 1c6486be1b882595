/**
 * One timer per heartbeat interval for every connection that beats at it, instead of a
 * setInterval per connection: ten thousand idle streams then cost one timer and a Set
 * entry each, and a tick walks them all.
 *
 * A tick beats its members in slices of BEATS_PER_TURN, the event loop turning between
 * them: a beat is a write to a socket (a ping, a comment line), and ten thousand of them
 * in one pass held the loop for ~0.7 s of CPU (profile of the crowd run's WebSocket row
 * at 10,000 clients, 2026-12-03), every publish and answer waiting behind it.
 *
 * A connection's first beat comes at the next tick, so anywhere from 0 to one interval
 * after it joins, and every interval after that, as a timer of its own would give (its
 * phase aside). A dead WebSocket peer is still cut within two intervals of going silent.
 */

/** A connection that beats: an object, so that joining costs it a Set entry and no closure. */
export interface Heartbeating {
  beat(): void;
}

/** Beats in one turn of the event loop: at ~25–65 µs a write, a few ms at a time. */
export const BEATS_PER_TURN = 256;

interface Ring {
  beats: Set<Heartbeating>;
  timer: NodeJS.Timeout;
  /** A tick still beating its slices: the next one waits for the tick after it. */
  beating: boolean;
}

/** The shared timers by interval, ms; each stops when its last connection leaves. */
const rings = new Map<number, Ring>();

/**
 * Calls `member.beat()` every `intervalMs` (at a tick shared with every other connection
 * beating at that interval) until `leaveHeartbeat(intervalMs, member)`.
 */
export function joinHeartbeat(intervalMs: number, member: Heartbeating): void {
  let ring = rings.get(intervalMs);
  if (!ring) {
    const created: Ring = {
      beats: new Set<Heartbeating>(),
      timer: setInterval(() => tick(created), intervalMs),
      beating: false,
    };
    // The heartbeat keeps no process alive: its connections do.
    created.timer.unref();
    ring = created;
    rings.set(intervalMs, ring);
  }
  ring.beats.add(member);
}

/** Stops `member`'s heartbeat; leaving twice, or without having joined, changes nothing. */
export function leaveHeartbeat(intervalMs: number, member: Heartbeating): void {
  const ring = rings.get(intervalMs);
  if (!ring?.beats.delete(member) || ring.beats.size > 0) return;
  clearInterval(ring.timer);
  rings.delete(intervalMs);
}

/**
 * Beats every member of `ring` once, BEATS_PER_TURN at a time. Skipped while the tick
 * before is still beating: overlapped, a member would beat twice in a row, and a
 * WebSocket that beats twice without a pong between is cut as dead.
 */
function tick(ring: Ring): void {
  if (ring.beating) return;
  ring.beating = true;
  // The members as they were at the tick: one who joins during it beats at the next.
  const members = [...ring.beats];
  let next = 0;
  const slice = (): void => {
    const end = Math.min(next + BEATS_PER_TURN, members.length);
    for (; next < end; next++) {
      const member = members[next] as Heartbeating;
      // One who left during the tick is not beaten any more.
      if (!ring.beats.has(member)) continue;
      try {
        member.beat();
      } catch (error) {
        // One connection's failure must not stop the others' heartbeats.
        console.error('heartbeat failed', error);
      }
    }
    if (next < members.length) setImmediate(slice);
    else ring.beating = false;
  };
  slice();
}
