/**
 * The WebSocket lab's two pages, served with a Content-Security-Policy of their own: the
 * pages' CSP (plugins/security.ts) would block the very failures the lab shows. The lab
 * opens sockets to a port where nothing listens (connect-src) and frames a page of its
 * other loopback name (frame-src), which must let it (frame-ancestors) and opens a socket
 * back to the lab's name from there: a foreign Origin, refused by the server itself.
 * Only loopback names are added, so nothing beyond this machine gains anything.
 */
import type { FastifyInstance } from 'fastify';
import { PAGE_CSP } from './plugins/security.ts';

// ws:// and http:// sources also match wss:// and https:// (CSP Level 3's scheme
// upgrade), so the same lists serve the lab over TLS (npm start -- --tls); pages/https.test.ts
// checks that a closed wss:// port there still fails as a closed port, not as a violation.
const LOOPBACK_WEBSOCKETS = 'ws://localhost:* ws://127.0.0.1:*';
const LOOPBACK_PAGES = 'http://localhost:* http://127.0.0.1:*';

/** PAGE_CSP with `sources` added to each directive named. */
function widened(sources: Record<string, string>): string {
  return PAGE_CSP.split('; ')
    .map((directive) => {
      const name = directive.split(' ')[0] as string;
      return name in sources ? `${directive} ${sources[name]}` : directive;
    })
    .join('; ');
}

/** The lab page's CSP: sockets to any loopback port, and frames of the other loopback name. */
export const LAB_CSP = widened({ 'connect-src': LOOPBACK_WEBSOCKETS, 'frame-src': LOOPBACK_PAGES });
/** The foreign page's CSP: framed by a page of either loopback name, and a socket back to it. */
export const LAB_PROBE_CSP = widened({ 'connect-src': LOOPBACK_WEBSOCKETS, 'frame-ancestors': LOOPBACK_PAGES });

/** Routes for the two pages; the pages' static plugin (with `reply.sendFile`) must be registered first. */
export async function labPages(app: FastifyInstance): Promise<void> {
  for (const [file, csp] of [
    ['websocket-lab.html', LAB_CSP],
    ['websocket-lab-probe.html', LAB_PROBE_CSP],
  ] as const) {
    app.get(`/${file}`, (_request, reply) => reply.header('content-security-policy', csp).sendFile(file));
  }
}
