/**
 * Transcripts when the server serves TLS (npm start -- --tls): recorded over TLS as
 * HTTP/1.1 (ALPN), the one exchange a person can read, and saying so; a handshake's
 * Origin is the https:// one a page of this server sends.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './app.ts';
import { techniques } from './contract/techniques.js';
import { certificateFor } from './tls.ts';
import type { Transcript, UpgradeTranscript } from './transcript.ts';
import { test } from '../test/suite.ts';

/** GET over HTTPS trusting `ca` alone, on a connection of its own: the status and the body. */
function getOverTls(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ca, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

test('over TLS, each technique’s transcript is recorded as HTTP/1.1 over TLS, and says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-cert-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certificate = await certificateFor({ host: '127.0.0.1', dir });
  const lab = await buildApp({ config: { logLevel: 'silent', tls: true }, certificate });
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => lab.app.close());
  const { port } = lab.app.server.address() as import('node:net').AddressInfo;
  await lab.feed.publish({ author: 'ada', text: 'recorded' });

  for (const { id: technique, capabilities } of techniques) {
    // The latest message is what a transcript replays: this technique's own, published now
    // (a held long poll's recording publishes one of its own).
    await lab.feed.publish({ author: 'ada', text: `recorded for ${technique}` });
    const { status, body } = await getOverTls(
      `https://127.0.0.1:${port}/api/transcripts/${technique}`,
      certificate.cert,
    );
    assert.equal(status, 200, `${technique}: ${body}`);
    const transcript = JSON.parse(body) as Transcript;
    assert.equal(transcript.protocol, 'http/1.1 over TLS', technique);
    const expected = capabilities.upgrades ? 'HTTP/1.1 101' : 'HTTP/1.1 200';
    assert.ok(transcript.response.startsWith(expected), `${technique}: ${transcript.response.slice(0, 60)}`);
    // A technique that holds a request without streaming is recorded held at the head, and
    // answered with the recording's own message; the others replay the latest one.
    const held = capabilities.holdsRequest && !capabilities.streams;
    assert.match(
      transcript.response,
      held ? /published while the request was held/ : new RegExp(`recorded for ${technique}`),
      technique,
    );
    if (!capabilities.upgrades) continue;
    assert.match(transcript.request, new RegExp(`\r\nOrigin: https://127\\.0\\.0\\.1:${port}\r\n`), technique);
    const { refused } = transcript as UpgradeTranscript;
    assert.ok(refused.foreignOrigin.response.startsWith('HTTP/1.1 403'), refused.foreignOrigin.response.slice(0, 60));
  }
});
