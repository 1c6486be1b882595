/**
 * The shared heartbeat: every member beats once a tick, in slices that let the event loop
 * turn between them (a tick over ten thousand WebSockets held it for ~0.7 s at once), a
 * member that leaves mid-tick is not beaten after it left, and a tick that outlasts its
 * interval is never overlapped by the next, which would beat a member twice in a row.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BEATS_PER_TURN, type Heartbeating, joinHeartbeat, leaveHeartbeat } from './heartbeat.ts';
import { test } from '../test/suite.ts';

/** A member that counts its beats; `spinMs` makes each beat take that long (a slow write). */
class Counter implements Heartbeating {
  beats = 0;
  constructor(
    private readonly onBeat: (member: Counter) => void = () => {},
    private readonly spinMs = 0,
  ) {}
  beat(): void {
    this.beats += 1;
    if (this.spinMs > 0) {
      const until = performance.now() + this.spinMs;
      while (performance.now() < until) {
        // A beat as slow as a write to a busy socket.
      }
    }
    this.onBeat(this);
  }
}

test('every member beats once a tick, and the loop turns between slices of a tick', async () => {
  const interval = 40;
  const total = BEATS_PER_TURN * 4;
  let beatenWhenTheLoopTurned: number | undefined;
  let beatenSoFar = 0;
  const members = Array.from(
    { length: total },
    () =>
      new Counter(() => {
        beatenSoFar += 1;
        // At a tick's first beat, ask when the loop next turns: how many had beaten by then?
        if (beatenSoFar === 1) setImmediate(() => (beatenWhenTheLoopTurned = beatenSoFar));
      }),
  );
  for (const member of members) joinHeartbeat(interval, member);
  try {
    await sleep(interval * 1.5);
    assert.equal(beatenSoFar, total, 'one tick beat every member once');
    assert.ok(
      beatenWhenTheLoopTurned !== undefined && beatenWhenTheLoopTurned <= BEATS_PER_TURN,
      `the loop turned after ${beatenWhenTheLoopTurned} of ${total} beats, not after all of them`,
    );
  } finally {
    for (const member of members) leaveHeartbeat(interval, member);
  }
});

test('a member that leaves during a tick is not beaten after it left', async () => {
  const interval = 30;
  const members: Counter[] = [];
  let left: Counter | undefined;
  for (let i = 0; i < BEATS_PER_TURN * 3; i++) {
    members.push(
      new Counter((member) => {
        // The first beat of the first tick: the last member leaves before its slice comes.
        if (left === undefined && member === members[0]) {
          left = members.at(-1);
          if (left) leaveHeartbeat(interval, left);
        }
      }),
    );
  }
  for (const member of members) joinHeartbeat(interval, member);
  try {
    await sleep(interval * 3.5);
    assert.equal(left?.beats, 0);
    assert.ok((members[0]?.beats ?? 0) >= 2, 'the others went on beating');
  } finally {
    for (const member of members) leaveHeartbeat(interval, member);
  }
});

test('a tick that outlasts its interval is not overlapped: no member beats twice before every other beat once', async () => {
  const interval = 10;
  // Each tick takes ~BEATS_PER_TURN × 3 × 0.03 ms: well past the 10-ms interval.
  const members = Array.from({ length: BEATS_PER_TURN * 3 }, () => new Counter(undefined, 0.03));
  for (const member of members) joinHeartbeat(interval, member);
  try {
    await sleep(300);
  } finally {
    for (const member of members) leaveHeartbeat(interval, member);
  }
  const counts = members.map((member) => member.beats);
  const [fewest, most] = [Math.min(...counts), Math.max(...counts)];
  assert.ok(fewest >= 1, 'every member beat');
  assert.ok(most - fewest <= 1, `beats per member ranged from ${fewest} to ${most}`);
});
