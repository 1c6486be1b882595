/**
 * Transcripts when the server serves TLS (npm start -- --tls): recorded over TLS as
 * HTTP/1.1 (ALPN), the one exchange a person can read, and saying so; a handshake's
 * Origin is the https:// one a page of this server sends.
 */
import assert from 'node:assert/strict';
import { techniques } from './contract/techniques.js';
import type { Transcript, UpgradeTranscript } from './transcript.ts';
import { test } from '../test/suite.ts';
import { startServer } from '../test/support.ts';
import { labFetch } from '../test/tls-fetch.ts';

test('over TLS, each technique’s transcript is recorded as HTTP/1.1 over TLS, and says so', async (t) => {
  const lab = await startServer(t, { tls: 'http/1.1' });
  const { port } = new URL(lab.url);
  await lab.feed.publish({ author: 'ada', text: 'recorded' });

  for (const { id: technique, capabilities } of techniques) {
    // The latest message is what a transcript replays: this technique's own, published now
    // (a held long poll's recording publishes one of its own).
    await lab.feed.publish({ author: 'ada', text: `recorded for ${technique}` });
    const response = await labFetch(`${lab.url}/api/transcripts/${technique}`);
    const [status, body] = [response.status, await response.text()];
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
