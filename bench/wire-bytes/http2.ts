/**
 * A poller's bytes over HTTP/2, as browsers speak it over TLS: one session of the bench's
 * own node:http2 client against a server on port 0, the same poll asked again and again,
 * each exchange's HTTP/2 frames counted in plaintext (under TLS) both ways. The first of a
 * session pays its header fields in full; HPACK sends the ones that repeat as an index
 * after it. For docs/wire-bytes.md, by `run.ts --http2`; checked by no test, since HPACK's
 * Huffman code spells the date a byte longer or shorter from one second to the next.
 */
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../server/app.ts';
import { cursorQuery } from '../../server/contract/feed.js';
import { type Technique, techniques } from '../../server/contract/techniques.js';
import { testCertificate } from '../../test/support.ts';
import { openSession, readAll } from '../protocols/session.ts';

/** Plaintext bytes both ways of one poll over HTTP/2: the session's first, and the ones after it. */
export interface Http2Poll {
  technique: Technique;
  status: number;
  first: number;
  following: number;
}

/** Polls that find nothing new (a 204), then polls that find one message (a 200), for every poller. */
export async function captureHttp2Polls(): Promise<{ nothingNew: Http2Poll[]; oneMessage: Http2Poll[] }> {
  const certificate = await testCertificate();
  // A held poll with nothing new ends at once: the bench's long polls name no hold.
  const lab = await buildApp({ certificate, config: { logLevel: 'silent', tls: true, longPollTimeoutMs: 1 } });
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = lab.app.server.address() as AddressInfo;
  const nothingNew: Http2Poll[] = [];
  const oneMessage: Http2Poll[] = [];
  try {
    await lab.feed.publish({ author: 'ada', text: 'a message of the capture' });
    for (const technique of techniques.filter((t) => !t.capabilities.streams)) {
      for (const [cursor, into] of [
        [1, nothingNew],
        [0, oneMessage],
      ] as const) {
        const session = await openSession({ host: '127.0.0.1', port, ca: certificate.cert }, 'h2');
        try {
          const query = cursorQuery({ cursor, epoch: lab.feed.epoch, client: `bench-0123abcd-${technique.id}` });
          const sizes: number[] = [];
          let status = 0;
          for (let poll = 0; poll < 3; poll += 1) {
            const plain = () => session.connection.plain.bytesRead + session.connection.plain.bytesWritten;
            const before = plain();
            const reply = await session.request(`/api/${technique.id}?${query}`);
            await readAll(reply.body);
            // The server's last frames (a stream's end) come on their own a moment later.
            await new Promise((done) => setTimeout(done, 30));
            status = reply.status;
            sizes.push(plain() - before);
          }
          into.push({ technique, status, first: sizes[0] as number, following: sizes[2] as number });
        } finally {
          session.close();
        }
      }
    }
    return { nothingNew, oneMessage };
  } finally {
    await lab.app.close();
  }
}
