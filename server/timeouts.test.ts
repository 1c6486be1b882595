/**
 * Slow clients (slowloris) are answered 408 within the configured timeouts instead of
 * holding a connection forever.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startServer } from '../test/support.ts';

/** Sends `payload`, never finishes the request, and returns the status line and the time to close. */
async function stall(port: number, payload: string): Promise<{ statusLine: string; ms: number }> {
  const started = Date.now();
  const socket = net.connect(port, '127.0.0.1');
  socket.write(payload);
  let data = '';
  socket.on('data', (chunk) => {
    data += chunk.toString();
  });
  await new Promise((resolve) => socket.once('close', resolve));
  return { statusLine: data.split('\r\n')[0] ?? '', ms: Date.now() - started };
}

const config = { headersTimeoutMs: 1000, requestTimeoutMs: 2000 };

test('a client that never finishes its headers gets 408', async (t) => {
  const server = await startServer(t, { config });
  const port = Number(new URL(server.url).port);
  const { statusLine, ms } = await stall(port, 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  assert.equal(statusLine, 'HTTP/1.1 408 Request Timeout');
  // Node checks once a second: the bound is loose on purpose.
  assert.ok(ms < 10_000, `closed after ${ms} ms`);
});

test('a client that never finishes its body gets 408', async (t) => {
  const server = await startServer(t, { config });
  const port = Number(new URL(server.url).port);
  const { statusLine, ms } = await stall(
    port,
    'POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a',
  );
  assert.equal(statusLine, 'HTTP/1.1 408 Request Timeout');
  assert.ok(ms < 10_000, `closed after ${ms} ms`);
  assert.equal(server.feed.lastId, 0);
});
