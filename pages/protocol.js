// Which HTTP version a page and its requests used, as the browser reports it: the
// navigation's and each request's `nextHopProtocol` (Resource Timing), the ALPN name of
// the connection the request went over (`h2`, `http/1.1`; `h3` over QUIC). Over HTTP/2
// every request to this server shares one connection, so a page may be open in many tabs
// without queueing behind the six connections per host a browser allows over HTTP/1.1.
//
// A request's entry is written when its response ends: a poll's at once, a held request's
// when it is answered, a stream's only when it ends. A WebSocket has no entry at all: it
// is always an HTTP/1.1 upgrade on a connection of its own (docs/http2.md).

/** The protocol this page itself came over, `''` when the browser does not say (a file://, a cached copy). */
export function pageProtocol() {
  const [navigation] = /** @type {PerformanceNavigationTiming[]} */ (performance.getEntriesByType('navigation'));
  return navigation?.nextHopProtocol ?? '';
}

/** Whether this page's requests share one multiplexed connection (HTTP/2 or HTTP/3). */
export function multiplexed() {
  return /^(h2|h3)/.test(pageProtocol());
}

/** How many of a technique's finished requests went over each protocol. @typedef {Record<string, number>} ProtocolCounts */

/**
 * Counts the protocols of the finished requests to `/api/<id>` (and below it) made under
 * `clientId` (their `client` parameter: another client on the page, such as the auto
 * panel's, is not counted), for each id asked for, and calls `onChange(id, counts)` as
 * entries arrive. An observer, not `getEntriesByType`: the performance buffer stops at
 * 250 entries, a poller's in minutes.
 * @param {readonly string[]} ids
 * @param {string} clientId
 * @param {(id: string, counts: ProtocolCounts) => void} onChange
 * @returns {() => void} stops watching
 */
export function watchRequestProtocols(ids, clientId, onChange) {
  /** @type {Map<string, ProtocolCounts>} */
  const counts = new Map(ids.map((id) => [id, {}]));
  const observer = new PerformanceObserver((list) => {
    /** @type {Set<string>} */
    const changed = new Set();
    for (const entry of /** @type {PerformanceResourceTiming[]} */ (list.getEntries())) {
      const id = techniqueOf(entry.name, clientId);
      const tally = id === undefined ? undefined : counts.get(id);
      if (id === undefined || !tally) continue;
      // An entry of a request that failed before any response has no protocol.
      const protocol = entry.nextHopProtocol || 'unknown';
      tally[protocol] = (tally[protocol] ?? 0) + 1;
      changed.add(id);
    }
    for (const id of changed) onChange(id, { .../** @type {ProtocolCounts} */ (counts.get(id)) });
  });
  observer.observe({ type: 'resource', buffered: true });
  return () => observer.disconnect();
}

/**
 * The technique id a request URL of this server's API names, if made under `clientId`.
 * @param {string} href @param {string} clientId
 */
function techniqueOf(href, clientId) {
  const url = new URL(href);
  if (url.origin !== location.origin || url.searchParams.get('client') !== clientId) return undefined;
  return /^\/api\/([^/]+)/.exec(url.pathname)?.[1];
}

/**
 * A technique's protocols in a few words: `h2 × 12`, or `h2 × 3, http/1.1 × 1`.
 * @param {ProtocolCounts} counts
 */
export function describeProtocols(counts) {
  return Object.entries(counts)
    .map(([protocol, count]) => `${protocol} × ${count}`)
    .join(', ');
}
