/**
 * One timer per heartbeat interval for every connection that beats at it, instead of a
 * setInterval per connection: ten thousand idle streams then cost one timer and a Set
 * entry each, and a tick walks them in one pass.
 *
 * A connection's first beat comes at the next tick, so anywhere from 0 to one interval
 * after it joins, and every interval after that, as a timer of its own would give (its
 * phase aside). A dead WebSocket peer is still cut within two intervals of going silent.
 */

/** A connection that beats: an object, so that joining costs it a Set entry and no closure. */
export interface Heartbeating {
  beat(): void;
}

/** The shared timers by interval, ms; each stops when its last connection leaves. */
const rings = new Map<number, { beats: Set<Heartbeating>; timer: NodeJS.Timeout }>();

/**
 * Calls `member.beat()` every `intervalMs` (at a tick shared with every other connection
 * beating at that interval) until `leaveHeartbeat(intervalMs, member)`.
 */
export function joinHeartbeat(intervalMs: number, member: Heartbeating): void {
  let ring = rings.get(intervalMs);
  if (!ring) {
    const beats = new Set<Heartbeating>();
    const timer = setInterval(() => {
      for (const beating of beats) {
        try {
          beating.beat();
        } catch (error) {
          // One connection's failure must not stop the others' heartbeats.
          console.error('heartbeat failed', error);
        }
      }
    }, intervalMs);
    // The heartbeat keeps no process alive: its connections do.
    timer.unref();
    ring = { beats, timer };
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
