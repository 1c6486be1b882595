// The side-by-side page's part in the classroom view (/classroom.html): every few seconds
// it tells the server the median delay each panel measured, so the teacher's page can
// show the room's delays beside the bytes the server counted itself. Only the page knows
// when a message reached it; the server checks what it is told (POST /api/classroom/delays).

/** How often the page reports, ms; the server takes at most one report a second per client. */
export const REPORT_EVERY_MS = 2000;

/**
 * Reports, every REPORT_EVERY_MS, the delay medians of the panels that have shown a
 * message; returns the call that stops it.
 * @param {string} clientId the page's client id (its panels' requests name it)
 * @param {readonly { technique: { id: string }, delayMedian: number | null }[]} panels
 * @returns {() => void}
 */
export function reportDelays(clientId, panels) {
  const timer = setInterval(() => {
    /** @type {Record<string, number>} */
    const delays = {};
    // A delay below 0 is a clock estimate's error, not a message from the future.
    for (const panel of panels)
      if (panel.delayMedian !== null) delays[panel.technique.id] = Math.min(600_000, Math.max(0, panel.delayMedian));
    if (Object.keys(delays).length === 0) return;
    fetch(`/api/classroom/delays?client=${clientId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delays }),
    }).catch(() => undefined);
  }, REPORT_EVERY_MS);
  return () => clearInterval(timer);
}
