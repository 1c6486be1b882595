/**
 * The bench's network flags (`--rtt`, `--bandwidth`, `--loss`, `--network`), read into
 * the conditions of each run: one per round trip of a sweep, or none at all (loopback as
 * it is, no shaper) when no flag is given.
 */
import { describeConditions, networkProfile, networkProfileNames } from './profiles.ts';
import type { NetworkConditions } from './shaper.ts';

/** The network the subscribers reach the server through; the publisher goes direct. */
export interface NetworkOptions {
  /** The profile named with --network, if any (its values, overridden by the other flags). */
  profile: string | null;
  /** One round trip, or several for a sweep (`--rtt 0,50,200`). */
  rttMs: number[];
  bandwidthKbit: number | null;
  lossPercent: number;
  jitterMs: number;
}

/** The conditions a run records: those applied, and the profile they came from. */
export type RunNetwork = NetworkConditions & { profile: string | null };

/** Upper bounds that keep a run meaningful (and finished). */
export const NETWORK_LIMITS = Object.freeze({ rttMs: 5000, bandwidthKbit: 10_000_000, lossPercent: 50 });

/** The flags, as node:util's parseArgs reads them. */
export const NETWORK_FLAGS = {
  rtt: { type: 'string' },
  bandwidth: { type: 'string' },
  loss: { type: 'string' },
  network: { type: 'string' },
} as const;

export const NETWORK_HELP = `  --rtt MS[,MS...]      round trip added between subscribers and server, through a
                        shaping proxy (the publisher goes direct); a list runs a sweep
  --bandwidth KBIT      bandwidth each way between subscribers and server, kbit/s
  --loss PCT            share of segments lost, % (each arrives one RTO late: TCP resends)
  --network PROFILE     named conditions: ${networkProfileNames.join(', ')}
                        (the flags above override its values)`;

/** Reads the network flags; null when none is given. `fail` reports a bad value. */
export function parseNetworkOptions(
  values: { rtt?: string; bandwidth?: string; loss?: string; network?: string },
  fail: (message: string) => never,
): NetworkOptions | null {
  if ([values.rtt, values.bandwidth, values.loss, values.network].every((v) => v === undefined)) return null;
  let base = { rttMs: 0, bandwidthKbit: null as number | null, lossPercent: 0, jitterMs: 0 };
  if (values.network !== undefined) {
    const profile = networkProfile(values.network);
    if (!profile)
      fail(`--network: unknown profile ${JSON.stringify(values.network)}; known: ${networkProfileNames.join(', ')}`);
    base = { ...profile };
  }
  const value = (flag: string, raw: string, max: number): number => {
    const parsed = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(parsed)) fail(`${flag}: expected a number, got ${JSON.stringify(raw)}`);
    if (parsed < 0 || parsed > max) fail(`${flag}: ${parsed} is out of range (0..${max})`);
    return parsed;
  };
  const rttMs =
    values.rtt === undefined
      ? [base.rttMs]
      : values.rtt.split(',').map((item) => value('--rtt', item.trim(), NETWORK_LIMITS.rttMs));
  if (new Set(rttMs).size !== rttMs.length) fail('--rtt: a round trip is listed twice');
  const bandwidthKbit =
    values.bandwidth === undefined
      ? base.bandwidthKbit
      : value('--bandwidth', values.bandwidth, NETWORK_LIMITS.bandwidthKbit);
  if (bandwidthKbit === 0) fail('--bandwidth: 0 kbit/s carries nothing');
  return {
    profile: values.network ?? null,
    rttMs,
    bandwidthKbit,
    lossPercent:
      values.loss === undefined ? base.lossPercent : value('--loss', values.loss, NETWORK_LIMITS.lossPercent),
    jitterMs: base.jitterMs,
  };
}

/** The conditions of each run: one per round trip; [null] (no shaper) without network flags. */
export function runNetworks(network: NetworkOptions | null): (RunNetwork | null)[] {
  if (!network) return [null];
  return network.rttMs.map((rttMs) => ({
    profile: network.profile,
    rttMs,
    ...(network.bandwidthKbit ? { bandwidthKbit: network.bandwidthKbit } : {}),
    ...(network.lossPercent ? { lossPercent: network.lossPercent } : {}),
    ...(network.jitterMs ? { jitterMs: network.jitterMs } : {}),
  }));
}

/** The network flags in a few words: `poor-mobile: RTT 0, 400 ms, 400 kbit/s, 2% loss, ±40 ms jitter`. */
export function describeNetwork(n: NetworkOptions): string {
  const rest = describeConditions({
    rttMs: 0,
    bandwidthKbit: n.bandwidthKbit ?? undefined,
    lossPercent: n.lossPercent,
    jitterMs: n.jitterMs,
  }).replace(/^RTT 0 ms/, `RTT ${n.rttMs.join(', ')} ms`);
  return n.profile ? `${n.profile} (${rest})` : rest;
}
