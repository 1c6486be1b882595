/**
 * The request heads Chromium writes for each technique's client on the side-by-side page:
 * the page opened in a headless Chromium against a server on port 0, each technique's
 * first request that names a cursor and an epoch (the steady state of a poller; a stream's
 * reconnection) read off the server's raw request as it came, and the first request of a
 * stream or upgrade whatever it names. For docs/wire-bytes.md, by `run.ts --chromium`.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../server/app.ts';
import { type Technique, techniques } from '../../server/contract/techniques.js';
import { launchChromium } from '../browser/chromium.ts';
import type { Part } from './capture.ts';

/** One technique's request head as Chromium wrote it. */
export interface BrowserRequest {
  technique: Technique;
  lines: Part[];
  bytes: number;
  /** Chromium's version, from its User-Agent. */
  browser: string;
}

/** The head as it came: Node keeps each header's name and value as received, in order. */
function headOf(request: IncomingMessage): Part[] {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  for (let i = 0; i < request.rawHeaders.length; i += 2)
    lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
  lines.push('');
  return lines.map((text) => ({ text, bytes: Buffer.byteLength(`${text}\r\n`, 'latin1') }));
}

/** Captures Chromium's request heads for every technique of the side-by-side page. */
export async function captureChromiumRequests(): Promise<BrowserRequest[]> {
  const lab = await buildApp({ config: { logLevel: 'silent' } });
  const found = new Map<string, IncomingMessage>();
  const observe = (request: IncomingMessage) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const technique = techniques.find((candidate) => url.pathname === `/api/${candidate.id}`);
    if (!technique || found.has(technique.id)) return;
    const { streams } = technique.capabilities;
    if (streams || (url.searchParams.has('since') && url.searchParams.has('epoch'))) found.set(technique.id, request);
  };
  lab.app.server.on('request', observe);
  lab.app.server.on('upgrade', observe);
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await launchChromium();
  try {
    const { port } = lab.app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const page = await browser.newPage();
    await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
    // A message, so that a held poll is answered and asked again with its cursor.
    const deadline = Date.now() + 20_000;
    while (found.size < techniques.length && Date.now() < deadline) {
      await fetch(`${url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'ada', text: 'for the capture' }),
      });
      await new Promise((done) => setTimeout(done, 1000));
    }
    const missing = techniques.filter((technique) => !found.has(technique.id)).map((technique) => technique.id);
    if (missing.length > 0) throw new Error(`Chromium sent no request of ${missing.join(', ')} within 20 s`);
    return techniques.map((technique) => {
      const request = found.get(technique.id) as IncomingMessage;
      const lines = headOf(request);
      const agent = request.headers['user-agent'] ?? '';
      return {
        technique,
        lines,
        bytes: lines.reduce((sum, line) => sum + line.bytes, 0),
        browser: /(Headless)?Chrome\/[\d.]+/.exec(agent)?.[0] ?? agent,
      };
    });
  } finally {
    await browser.close();
    await lab.app.close();
  }
}
