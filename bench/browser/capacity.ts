/**
 * How many browser subscribers this kind of machine holds (2 cores), measured with
 * `--browser` sweeps and written up in docs/bench.md § Browser clients: past the first
 * number Chromium's pages take most of a core and their delays grow with their count
 * rather than with the technique; past the second the runs stop meaning anything (and a
 * page is some 20–40 MiB of memory).
 */

/** Browser subscribers per run that a 2-core machine delivers to without the browser being the bottleneck. */
export const BROWSER_CLIENTS_COMFORTABLE = 20;
/** The most browser subscribers a run may ask for: the bench refuses more. */
export const BROWSER_CLIENTS_MAX = 100;
/** Chromium's CPU over a run above this share of the machine's cores: the browser, not the technique, set the delays. */
export const BROWSER_SATURATED_SHARE = 0.6;

/** The warning for a run that asks for more browser clients than the machine holds comfortably, or null. */
export function browserClientsWarning(clients: number): string | null {
  if (clients <= BROWSER_CLIENTS_COMFORTABLE) return null;
  return `${clients} browser clients: past about ${BROWSER_CLIENTS_COMFORTABLE} on 2 cores, Chromium itself is the bottleneck and the delays measure it more than the technique (docs/bench.md § Browser clients)`;
}

/**
 * Connections one browser subscriber may hold to the server at once: Chromium loads a
 * page's modules over up to six connections per host and keeps them idle a while, and
 * a WebSocket takes one more of its own. The per-address cap of the bench's servers
 * counts them all.
 */
export const BROWSER_CONNECTIONS_PER_CLIENT = 7;
