/**
 * --http 2: a short real run of the CLI, every technique over HTTP/2 (WebSocket over its
 * HTTP/1.1 Upgrade, wss://), with the bench's own clients counting bytes on their
 * sockets. Every message must arrive; a poll's header bytes after the first request on an
 * HTTP/2 connection must be fewer than the first's (HPACK); the TLS handshake must be
 * counted; results.json must validate. And the counters the figures rest on: the TLS
 * socket's count plaintext, the TCP socket's what went on the wire.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { techniques } from '../server/contract/techniques.js';
import { certificateFor } from '../server/tls.ts';
import { test } from '../test/suite.ts';
import { UsageError, parseOptions } from './options.ts';
import { openSession, readAll } from './protocols/session.ts';
import type { BenchResult } from './result.ts';
import { startServerProcess } from './server-process.ts';
import { takeHeavySlot } from '../test/heavy.ts';

// A Chromium or a bench run: never beside another (test/heavy.ts).
await takeHeavySlot();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** A TLS 1.3 handshake with one P-256 certificate is some 1–2 kB; 16 kB would be a counting error. */
const HANDSHAKE_MAX_BYTES = 16_384;

test('--http 2: every technique delivers everything, HPACK shrinks the following polls, the handshake is counted, results.json validates', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'realtime-lab-http2-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const flags = ['--http', '2', '--clients', '2', '--rate', '10', '--duration', '1', '--poll-interval', '300'];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...flags, '--out', out], {
    cwd: ROOT,
    timeout: 60_000,
  });
  assert.match(stdout, /HTTP\/1\.1 Upgrade/, 'the output says WebSocket goes over an HTTP/1.1 Upgrade');
  const result = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchResult;
  const runs = result.protocols ?? [];
  assert.deepEqual(result.config.protocols, ['h2']);
  for (const technique of techniques)
    assert.ok(
      runs.some((r) => r.technique === technique.id),
      `${technique.id} ran`,
    );
  for (const r of runs) {
    const name = `${r.technique} over ${r.wire} (${r.sharing})`;
    assert.ok(r.messagesExpected > 0, `${name}: something was published`);
    assert.equal(r.messagesDelivered, r.messagesExpected, `${name}: every message delivered`);
    assert.equal(r.lost, 0, `${name}: nothing lost`);
    assert.equal(r.duplicates, 0, `${name}: nothing twice`);
    assert.ok(
      r.handshakeBytes > 0 && r.handshakeBytes < HANDSHAKE_MAX_BYTES,
      `${name}: handshake ${r.handshakeBytes} B`,
    );
    if (r.sharing === 'shared') assert.equal(r.connections, 1, `${name}: one connection`);
  }
  const polls = runs.filter((r) => r.wire === 'h2' && r.headerBytesPerPoll);
  assert.ok(polls.length > 0, 'a poller ran alone on an HTTP/2 connection');
  for (const r of polls) {
    const { first, following } = r.headerBytesPerPoll as { first: number; following: number };
    assert.ok(following < first, `${r.technique}: HPACK: following polls ${following} B < first ${first} B`);
  }
  const schema = JSON.parse(await readFile(join(ROOT, 'bench/results.schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  assert.ok(validate(result), ajv.errorsText(validate.errors));
});

test('the TLS socket counts plaintext, the TCP socket under it what went on the wire: a body of known size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-http2-cert-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certificate = await certificateFor({ host: '127.0.0.1', dir });
  const server = await startServerProcess({
    TLS: '1',
    TLS_CERT: join(dir, 'cert.pem'),
    TLS_KEY: join(dir, 'key.pem'),
  });
  t.after(() => server.stop());
  const port = Number(new URL(server.baseUrl).port);
  const session = await openSession({ host: '127.0.0.1', port, ca: certificate.cert }, 'h2');
  t.after(() => session.close());
  assert.equal(session.connection.alpn, 'h2');
  const { tcp, plain } = session.connection;
  const before = { plain: plain.bytesWritten, tcp: tcp.bytesWritten };
  const BODY = 12_000;
  // A publish far too long for the server: what matters is the body going out whole.
  const reply = await session.request('/api/messages?client=bench-h2-size', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'x', text: 'y'.repeat(BODY - 23) }),
  });
  await readAll(reply.body);
  const plainSent = plain.bytesWritten - before.plain;
  const wireSent = tcp.bytesWritten - before.tcp;
  // HEADERS and DATA frame headers add some tens of bytes; a record adds 22 (TLS 1.3, AES-GCM).
  assert.ok(plainSent >= BODY && plainSent < BODY + 400, `plaintext written ${plainSent} B for a ${BODY} B body`);
  assert.ok(wireSent >= plainSent + 22, `wire written ${wireSent} B: the records' overhead on top of ${plainSent} B`);
});

test('--http and --tls are checked: a bad version, and runs they do not go with', () => {
  assert.throws(() => parseOptions(['--http', '3']), UsageError);
  assert.throws(() => parseOptions(['--http', '2', '--clients', '1,2']), UsageError);
  assert.throws(() => parseOptions(['--tls', '--chaos']), UsageError);
  assert.equal(parseOptions(['--http', '1.1'])?.protocols, null, 'plain HTTP/1.1 is the autocannon bench');
  assert.deepEqual(parseOptions(['--http', '1.1,2', '--tls'])?.protocols, ['http/1.1', 'http/1.1+tls', 'h2']);
});
