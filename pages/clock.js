// The server's clock as a page sees it, for the delays the panels show (message.ts is the
// server's). NTP-style: a sample is one GET /api/health, whose `now` is taken to sit in
// the middle of its round trip, so a sample is off by at most half its round trip; the
// sample with the shortest round trip wins, over the page's whole life. Samples taken
// while the page is busy (its clients connecting) have long trips: sample when it is quiet
// and keep the best (docs/browser-delays.md measures the difference).

/**
 * How long after its clients open a page samples the server's clock again, ms: by then they
 * are connected and the page is quiet.
 */
export const CLOCK_RESAMPLE_AFTER_MS = 1000;

/** Epoch ms now, with the precision of performance.now(). */
export function epochNow() {
  return performance.timeOrigin + performance.now();
}

export class ServerClock {
  /** Server clock minus this page's clock, ms, from the best sample so far (0 before any). */
  offset = 0;
  /** The round trip of that sample, ms: the offset is right within half of it. */
  rtt = Number.POSITIVE_INFINITY;

  /** @param {string} [url] where the server's `now` is read */
  constructor(url = '/api/health') {
    this.url = url;
  }

  /** The server's clock now, epoch ms. */
  now() {
    return epochNow() + this.offset;
  }

  /**
   * What a message proves: the server stamped it `ts`, so the server's clock reads at least
   * `ts` when it arrives. An estimate behind that (samples taken while the machine was busy,
   * their round trips long) would show the message a negative delay; it moves up to what
   * the message proves, which is never past the server's true clock.
   * @param {number} ts a server stamp, epoch ms, of something that has arrived
   */
  heard(ts) {
    const behind = ts - this.now();
    if (behind > 0) this.offset += behind;
  }

  /**
   * Takes `count` samples one after the other, keeping the best of these and all before.
   * @param {number} [count]
   */
  async sample(count = 8) {
    for (let i = 0; i < count; i += 1) {
      const sent = epochNow();
      const response = await fetch(this.url, { cache: 'no-store' });
      const { now } = await response.json();
      const received = epochNow();
      if (received - sent < this.rtt) {
        this.rtt = received - sent;
        this.offset = now - (sent + received) / 2;
      }
    }
  }
}
