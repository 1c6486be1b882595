/**
 * The server's clock, as seen from the bench. A message's `ts` is the server's clock when
 * it accepted the message; the delay is the receipt time on the same clock. On one machine
 * both processes read the same system clock, but each derives epoch milliseconds from its
 * own start (`performance.timeOrigin`), so the bench measures the offset instead of
 * assuming it is zero, the way NTP does: ask for the server's time, and trust the sample
 * with the shortest round trip.
 */

/** Epoch milliseconds with sub-millisecond precision, from this process's clock. */
export function localNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface Clock {
  /** The server's time now, in epoch milliseconds. */
  now(): number;
  /** Server clock minus ours, ms. */
  offsetMs: number;
  /** Half the best round trip: how far off the offset can be, ms. */
  uncertaintyMs: number;
}

/** Samples `/api/health` `samples` times and keeps the tightest estimate. */
export async function calibrate(baseUrl: string, samples = 15): Promise<Clock> {
  let best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
  for (let i = 0; i < samples; i++) {
    const sent = localNow();
    const response = await fetch(`${baseUrl}/api/health`);
    const body = (await response.json()) as { now?: unknown };
    const received = localNow();
    if (typeof body.now !== 'number')
      throw new Error(`${baseUrl}/api/health has no "now": is this a realtime-lab server?`);
    const rtt = received - sent;
    if (rtt < best.rtt) best = { offset: body.now - (sent + received) / 2, rtt };
  }
  const offsetMs = best.offset;
  return { offsetMs, uncertaintyMs: best.rtt / 2, now: () => localNow() + offsetMs };
}
