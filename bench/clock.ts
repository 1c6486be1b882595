/**
 * The server's clock, as seen from the bench. A message's `ts` is the server's clock when
 * it accepted the message; the delay is the receipt time on the same clock.
 *
 * A server process the bench started is on this machine, and reads its clock as the
 * bench does (`performance.timeOrigin + performance.now()`, the server's preciseNow): two
 * Node processes on one machine agree to a few microseconds (clock.test.ts checks a
 * server's against the bench's), so its clock is the bench's own (startedServerClock,
 * once one answer confirms it).
 * Measuring the offset over HTTP could only blur that: half a round trip of fetch is
 * ±0.3 ms here, different for every server and every run, which is more than some of
 * the differences a side-by-side run is read for. A server the bench did not start
 * (`--url`) may be on another machine: its offset is measured the way NTP does
 * (calibrate): ask for its time, and trust the sample with the shortest round trip.
 */

/** How far apart two processes' clocks on this machine may be, ms (clock.test.ts). */
export const SAME_MACHINE_CLOCK_MS = 0.01;

/** Epoch milliseconds with sub-millisecond precision, from this process's clock. */
export function localNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface Clock {
  /** The server's time now, in epoch milliseconds. */
  now(): number;
  /** Server clock minus ours, ms. */
  offsetMs: number;
  /** How far off the offset can be, ms: half the best round trip, or SAME_MACHINE_CLOCK_MS. */
  uncertaintyMs: number;
}

/** One `GET /api/health`: the server's `now`, and this process's clock just before and just after. */
export async function healthNow(baseUrl: string): Promise<{ sent: number; now: number; received: number }> {
  const sent = localNow();
  const body = (await (await fetch(`${baseUrl}/api/health`)).json()) as { now?: unknown };
  const received = localNow();
  if (typeof body.now !== 'number')
    throw new Error(`${baseUrl}/api/health has no "now": is this a realtime-lab server?`);
  return { sent, now: body.now, received };
}

/** Samples `/api/health` `samples` times and keeps the tightest estimate. */
export async function calibrate(baseUrl: string, samples = 15): Promise<Clock> {
  let best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
  for (let i = 0; i < samples; i++) {
    const { sent, now, received } = await healthNow(baseUrl);
    const rtt = received - sent;
    if (rtt < best.rtt) best = { offset: now - (sent + received) / 2, rtt };
  }
  const offsetMs = best.offset;
  return { offsetMs, uncertaintyMs: best.rtt / 2, now: () => localNow() + offsetMs };
}

/** The clock of a server process on this machine: the bench's own. */
export function sameMachineClock(): Clock {
  return { offsetMs: 0, uncertaintyMs: SAME_MACHINE_CLOCK_MS, now: localNow };
}

/** Tries of startedServerClock before it falls back to calibrating. */
const SAME_CLOCK_TRIES = 3;

/**
 * The clock of a server process this bench started: this machine's (sameMachineClock),
 * once a `/api/health` shows its `now` between the request and the answer. Should it not
 * (the system clock was stepped between the two processes' starts: an NTP step, a VM
 * resumed), the offset is measured instead, as for a server elsewhere.
 */
export async function startedServerClock(baseUrl: string): Promise<Clock> {
  for (let i = 0; i < SAME_CLOCK_TRIES; i++) {
    const { sent, now, received } = await healthNow(baseUrl);
    if (now >= sent - SAME_MACHINE_CLOCK_MS && now <= received + SAME_MACHINE_CLOCK_MS) return sameMachineClock();
  }
  return calibrate(baseUrl);
}
