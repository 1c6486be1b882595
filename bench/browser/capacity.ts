/**
 * How many browser subscribers this kind of machine holds (2 cores), measured with
 * `npm run bench -- --browser --techniques sse --clients 1,5,10,20,40 --duration 4` and
 * written up in docs/bench.md § Browser clients: at 20 msg/s, up to 10 pages Chromium
 * takes half a core and the delays stay where one page's are; at 20 it takes most of a
 * core and the median delay doubles; at 40 it is pinned at a core and doubles again.
 */

/** Browser subscribers per run that a 2-core machine delivers to (at 20 msg/s) without the browser being the bottleneck. */
export const BROWSER_CLIENTS_COMFORTABLE = 10;
/** The most browser subscribers a run may ask for: the bench refuses more. */
export const BROWSER_CLIENTS_MAX = 50;
/** Chromium's CPU while receiving above this, % of one core: the browser, not the technique, set the delays. */
export const BROWSER_SATURATED_CPU_PERCENT = 80;

/** The warning for a run that asks for more browser clients than the machine holds comfortably, or null. */
export function browserClientsWarning(clients: number): string | null {
  if (clients <= BROWSER_CLIENTS_COMFORTABLE) return null;
  return `${clients} browser clients: past about ${BROWSER_CLIENTS_COMFORTABLE} on 2 cores (at 20 msg/s), Chromium itself becomes the bottleneck and the delays measure it more than the technique (docs/bench.md § Browser clients)`;
}

/**
 * Connections one browser subscriber may hold to the server at once: Chromium loads a
 * page's modules over up to six connections per host and keeps them idle a while, and
 * a WebSocket takes one more of its own. The per-address cap of the bench's servers
 * counts them all.
 */
export const BROWSER_CONNECTIONS_PER_CLIENT = 7;
