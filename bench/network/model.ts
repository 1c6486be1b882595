/**
 * What the shaped network adds to a delivery, for the drivers' models: the one-way delay
 * a message's bytes take from the server to a subscriber, and the round trip a request
 * and its answer take.
 */
import { type NetworkConditions, retransmissionTimeoutMs } from './shaper.ts';

/** The round trip the network adds, ms (0 on loopback: no shaper). */
export function roundTripMs(network: NetworkConditions | null): number {
  return network?.rttMs ?? 0;
}

/**
 * The mean time `bytes` take one way, ms: half the round trip, their serialisation at the
 * bandwidth, and the share of chunks lost times the retransmission timeout they wait.
 */
export function oneWayMs(network: NetworkConditions | null, bytes: number): number {
  if (!network) return 0;
  const serialisation = network.bandwidthKbit ? (bytes * 8) / network.bandwidthKbit : 0;
  const loss = ((network.lossPercent ?? 0) / 100) * retransmissionTimeoutMs(network.rttMs);
  return network.rttMs / 2 + serialisation + loss;
}

/**
 * What the models leave out on any network: the server writing to every client in turn
 * and the bench reading them all on this machine, ms; a tolerance, not a prediction.
 */
export function fanOutAllowanceMs(clients: number): number {
  return 10 + 0.05 * clients;
}

/** The mean delay of a stream (one response or connection carrying every message): one way, once. */
export function streamLatency(input: {
  clients: number;
  network: NetworkConditions | null;
  payloadBytesPerMessage: number;
}) {
  return {
    metric: 'meanLatencyMs' as const,
    predicted: oneWayMs(input.network, input.payloadBytesPerMessage),
    tolerance: 0.25,
    toleranceAbs: fanOutAllowanceMs(input.clients),
    model: 'one way from the server: half the round trip, the bytes at the bandwidth, loss × RTO',
  };
}

/**
 * Beyond the trips, what a first message's time holds on any network: starting the client
 * itself (autocannon's or ws's set-up, a socket) on a shared machine, ms; a tolerance, not
 * a prediction.
 */
export const FIRST_MESSAGE_ALLOWANCE_MS = 25;

/**
 * The time from a client starting to connect to its holding a message already waiting,
 * ms: `trips` round trips (TCP's handshake, then the request or upgrade and its answer),
 * each way of each trip possibly lost (loss × RTO). The bandwidth is left out: the few
 * hundred bytes of a handshake take about 12 ms at the slowest profile's 400 kbit/s,
 * inside the tolerance of its 800 ms of trips.
 */
export function firstMessageLatency(network: NetworkConditions | null, trips: number, model: string) {
  const loss = ((network?.lossPercent ?? 0) / 100) * (network ? retransmissionTimeoutMs(network.rttMs) : 0);
  return {
    metric: 'firstMessageMs' as const,
    predicted: trips * (roundTripMs(network) + 2 * loss),
    tolerance: 0.25,
    toleranceAbs: FIRST_MESSAGE_ALLOWANCE_MS,
    model,
  };
}
