// A request that waits in the browser, said out loud. Over HTTP/1.1 a browser opens six
// connections per host; when another tab of this server holds them, a short poll or a
// POST queues in the browser for as long as they stay busy (22 s were seen), and nothing
// else on the page would say so. Shared by the panels and the composer; no DOM at load.

/**
 * How long a request the server answers at once (a short poll, a publish) may go
 * unanswered before the page says it waits for a connection, ms.
 */
export const WAITING_SHOWN_AFTER_MS = 3000;
/** The badge of a panel whose request waits for one of the browser's connections. */
export const WAITING_BADGE = 'WAITING FOR A CONNECTION';

/**
 * Says "sending…" in `status` now, and after WAITING_SHOWN_AFTER_MS that the request
 * waits for a free connection, counting the seconds. Returns what stops it: call it
 * before writing the outcome.
 * @param {{ textContent: string | null }} status
 * @returns {() => void}
 */
export function showSending(status) {
  const started = performance.now();
  status.textContent = 'sending…';
  const timer = setInterval(() => {
    const waited = performance.now() - started;
    if (waited < WAITING_SHOWN_AFTER_MS) return;
    status.textContent = `sending… ${Math.round(waited / 1000)} s (waiting for a free connection: another tab?)`;
  }, 500);
  return () => clearInterval(timer);
}
