/**
 * Named network conditions, for `npm run bench -- --network NAME` and
 * `npm start -- --network NAME`: typical links, each with where its numbers come from.
 * They are typical values, not worst cases: a class sees what most users live with.
 */
import type { NetworkConditions } from './shaper.ts';

export interface NetworkProfile extends Required<NetworkConditions> {
  /** One line for --help and the start-up message. */
  summary: string;
}

export const NETWORK_PROFILES = Object.freeze({
  // A wired or good Wi-Fi LAN: a switch hop is well under 1 ms; home Wi-Fi adds 1–3 ms
  // (the 2 ms here). 100 Mbit/s Fast Ethernet / ordinary 802.11n throughput; no loss.
  lan: { summary: 'a LAN: 2 ms, 100 Mbit/s', rttMs: 2, bandwidthKbit: 100_000, lossPercent: 0, jitterMs: 0.5 },
  // 4G/LTE: OpenSignal's and Ookla's published medians put LTE latency at 40–60 ms and
  // download around 20–30 Mbit/s; 50 ms and a conservative 10 Mbit/s (the same up and
  // down here: the link is one rate both ways). Loss after the radio's own
  // retransmissions (RLC/HARQ) is well under 1%: 0.1%.
  'good-mobile': {
    summary: '4G: 50 ms, 10 Mbit/s, 0.1% loss',
    rttMs: 50,
    bandwidthKbit: 10_000,
    lossPercent: 0.1,
    jitterMs: 5,
  },
  // 3G at the edge of coverage: Chrome DevTools' "Slow 3G" preset is built from a
  // packet-level 400 ms round trip and 400 kbit/s (500 kbit/s × 0.8), then scaled ×5 in
  // latency (2,000 ms) because DevTools delays whole requests, not packets; its "Fast 3G"
  // is 150 ms × 3.75 = 562.5 ms and 1.44 Mbit/s. A shaper of packets, as this one, takes
  // the packet-level figures: 400 ms, 400 kbit/s. The 2% loss and ±40 ms jitter are our
  // own assumption for a weak signal, not from a source (change them with --loss).
  'poor-mobile': {
    summary: 'edge-of-coverage 3G: 400 ms, 400 kbit/s, 2% loss',
    rttMs: 400,
    bandwidthKbit: 400,
    lossPercent: 2,
    jitterMs: 40,
  },
  // A geostationary satellite: 35,786 km up, four legs of ground–satellite–ground for a
  // round trip at the speed of light is ≥ 477 ms before any processing; published
  // consumer GEO services measure 550–650 ms (the FCC's Measuring Broadband America
  // reports ~600 ms). 600 ms, 10 Mbit/s, 0.5% loss (rain fade), ITU-T G.114's 400 ms
  // one-way budget for interactive speech exceeded on purpose.
  satellite: {
    summary: 'geostationary satellite: 600 ms, 10 Mbit/s, 0.5% loss',
    rttMs: 600,
    bandwidthKbit: 10_000,
    lossPercent: 0.5,
    jitterMs: 10,
  },
} satisfies Record<string, NetworkProfile>);

export type NetworkProfileName = keyof typeof NETWORK_PROFILES;

export const networkProfileNames = Object.keys(NETWORK_PROFILES) as NetworkProfileName[];

/** The profile of that name, or undefined. */
export function networkProfile(name: string): NetworkProfile | undefined {
  return Object.hasOwn(NETWORK_PROFILES, name) ? NETWORK_PROFILES[name as NetworkProfileName] : undefined;
}

/** Conditions in a few words: `100 ms, 400 kbit/s, 2% loss, ±40 ms jitter`. */
export function describeConditions(c: NetworkConditions): string {
  const parts = [`RTT ${c.rttMs} ms`];
  if (c.bandwidthKbit)
    parts.push(c.bandwidthKbit >= 1000 ? `${c.bandwidthKbit / 1000} Mbit/s` : `${c.bandwidthKbit} kbit/s`);
  if (c.lossPercent) parts.push(`${c.lossPercent}% loss`);
  if (c.jitterMs) parts.push(`±${c.jitterMs} ms jitter`);
  return parts.join(', ');
}
