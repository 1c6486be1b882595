/**
 * One timer per heartbeat interval for every connection that beats at it, instead of a
 * setInterval per connection: ten thousand idle streams then cost one timer and a Set
 * entry each, and a tick walks them in one pass.
 *
 * A connection's first beat comes at the next tick, so anywhere from 0 to one interval
 * after it joins, and every interval after that, as a timer of its own would give (its
 * phase aside). A dead WebSocket peer is still cut within two intervals of going silent.
 */

type Beat = () => void;
/** A connection's place in a ring: an object, so the same function joined twice is two members. */
interface Member {
  beat: Beat;
}

/** The shared timers by interval, ms; each stops when its last connection leaves. */
const rings = new Map<number, { beats: Set<Member>; timer: NodeJS.Timeout }>();

/**
 * Calls `beat` every `intervalMs` (at a tick shared with every other connection beating
 * at that interval) until the returned function is called.
 */
export function everyHeartbeat(intervalMs: number, beat: Beat): () => void {
  let ring = rings.get(intervalMs);
  if (!ring) {
    const beats = new Set<Member>();
    const timer = setInterval(() => {
      for (const member of beats) {
        try {
          member.beat();
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
  // Not a closure: tsx compiles with esbuild's keepNames, which gives every named arrow
  // function a `name` property of its own, ~250 bytes per connection.
  const member: Member = { beat };
  const joined = ring;
  joined.beats.add(member);
  return () => {
    if (!joined.beats.delete(member) || joined.beats.size > 0) return;
    clearInterval(joined.timer);
    if (rings.get(intervalMs) === joined) rings.delete(intervalMs);
  };
}
