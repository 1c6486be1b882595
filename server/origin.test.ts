/**
 * One origin policy for CORS and WebSocket handshakes (origin.ts): an origin is allowed,
 * or refused, by both alike, each refusal with its own code.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';
import { startServer } from '../test/support.ts';

test('an origin ALLOWED_ORIGINS names passes both the CORS preflight and the WebSocket handshake; another is refused by both, each with its code', async (t) => {
  const server = await startServer(t, { config: { allowedOrigins: ['https://teacher.example'] } });
  const preflight = (origin: string) =>
    fetch(`${server.url}/api/messages`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
  const handshake = async (origin: string): Promise<{ status: number; code?: string }> => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/websocket`, { origin });
    socket.on('error', () => undefined);
    t.after(() => socket.terminate());
    const outcome = await Promise.race([once(socket, 'open').then(() => 101), once(socket, 'unexpected-response')]);
    if (outcome === 101) return { status: 101 };
    const [, response] = outcome as [unknown, IncomingMessage];
    let body = '';
    for await (const chunk of response) body += chunk;
    return { status: response.statusCode ?? 0, code: (JSON.parse(body) as { code: string }).code };
  };

  assert.equal((await preflight('https://teacher.example')).status, 204);
  assert.deepEqual(await handshake('https://teacher.example'), { status: 101 });

  const refusedPreflight = await preflight('https://evil.example');
  assert.equal(refusedPreflight.status, 403);
  assert.equal(((await refusedPreflight.json()) as { code: string }).code, 'RTL_FORBIDDEN_CORS_ORIGIN');
  assert.deepEqual(await handshake('https://evil.example'), { status: 403, code: 'RTL_FORBIDDEN_ORIGIN' });
});
