/**
 * The limits a user can configure and the cross-origin policy, each with a real client:
 * publish rate per client id (HTTP 429 with Retry-After; WebSocket error frames, then
 * 1008), connections per technique (503 with Retry-After, before a WebSocket upgrade),
 * CORS that names allowed origins only, and the pages' security headers.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';
import { PAGE_CSP, PublishLimiter } from './limits.ts';
import { startServer, until } from './testing.ts';

const post = (url: string, client?: string) =>
  fetch(`${url}/api/messages${client ? `?client=${client}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'ada', text: 'hi' }),
  });

test('a client publishing past its rate gets 429 with Retry-After; another client id is not slowed', async (t) => {
  const server = await startServer(t, { config: { publishRatePerClient: 5, publishBurst: 5 } });
  for (let i = 0; i < 5; i++) assert.equal((await post(server.url, 'eager')).status, 201);
  const refused = await post(server.url, 'eager');
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  const body = (await refused.json()) as { message: string; code: string };
  assert.equal(body.code, 'RTL_RATE_LIMITED');
  assert.match(body.message, /client "client:eager" publishes faster than its limit \(5\/s, bursts of 5\): wait \d+ ms/);
  assert.equal((await post(server.url, 'patient')).status, 201, 'limits are per client id, not per address');
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.equal((await post(server.url, 'eager')).status, 201, 'the bucket refills at the rate');
});

test('the token bucket refills at its rate and never above its burst', () => {
  let now = 0;
  const limiter = new PublishLimiter({ publishRatePerClient: 2, publishBurst: 3 }, () => now);
  for (let i = 0; i < 3; i++) limiter.take('a');
  assert.throws(() => limiter.take('a'), /wait 500 ms/);
  now = 10_000;
  for (let i = 0; i < 3; i++) limiter.take('a');
  assert.throws(() => limiter.take('a'));
  assert.doesNotThrow(() => new PublishLimiter({ publishRatePerClient: 0, publishBurst: 1 }).take('a'), 'rate 0 turns the limit off');
});

test('a WebSocket flooding publish frames gets error frames, then close 1008', async (t) => {
  const server = await startServer(t, { config: { publishRatePerClient: 1, publishBurst: 2 } });
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/websocket?client=flood`);
  await new Promise((resolve) => socket.once('open', resolve));
  const replies: { type: string; message?: string }[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  for (let i = 0; i < 20; i++) socket.send(JSON.stringify({ type: 'publish', author: 'ada', text: `flood ${i}` }));
  assert.equal(await closed, 1008);
  // The socket also follows the feed: keep the answers to its own frames.
  const answers = replies.filter((r) => r.type !== undefined);
  assert.deepEqual(answers.slice(0, 2).map((r) => r.type), ['ack', 'ack']);
  assert.match(answers[2]?.message ?? '', /publishes faster than its limit/);
});

test('past MAX_CONNECTIONS_PER_TECHNIQUE a stream gets 503 with Retry-After, and room comes back when one leaves', async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerTechnique: 2 } });
  const open = () =>
    new Promise<{ status: number; body: string; retryAfter: string | undefined; close: () => void }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/api/sse`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'], close: () => req.destroy() });
        });
      });
      req.on('error', reject);
      req.end();
    });
  const first = await open();
  const second = await open();
  const third = await open();
  assert.deepEqual([first.status, second.status, third.status], [200, 200, 503]);
  assert.equal(third.retryAfter, '5');
  assert.match(JSON.parse(third.body).message, /sse already holds 2 connections/);
  first.close();
  await until(() => server.wire.activeRequests('sse') < 2, 'the first stream to be gone');
  const fourth = await open();
  assert.equal(fourth.status, 200);
  second.close();
  fourth.close();
});

test('past the cap a WebSocket handshake is refused with 503 before the upgrade', async (t) => {
  const server = await startServer(t, { config: { maxConnectionsPerTechnique: 1 } });
  const url = `${server.url.replace('http', 'ws')}/api/websocket`;
  const first = new WebSocket(url);
  await new Promise((resolve) => first.once('open', resolve));
  const second = new WebSocket(url);
  const status = await new Promise<number>((resolve) => second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  assert.equal(status, 503);
  second.on('error', () => undefined);
  first.close();
});

test('CORS: only an allowed origin is named back, never reflected; a foreign preflight gets 403', async (t) => {
  const server = await startServer(t, { config: { allowedOrigins: ['https://teacher.example'] } });
  const foreign = await fetch(`${server.url}/api/health`, { headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  assert.equal(foreign.headers.get('vary'), 'Origin');
  const allowed = await fetch(`${server.url}/api/health`, { headers: { origin: 'https://teacher.example' } });
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://teacher.example');

  const foreignPreflight = await fetch(`${server.url}/api/messages`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(foreignPreflight.status, 403);
  assert.match(((await foreignPreflight.json()) as { message: string }).message, /https:\/\/evil.example" may not call this API/);
  const preflight = await fetch(`${server.url}/api/messages`, {
    method: 'OPTIONS',
    headers: { origin: 'https://teacher.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://teacher.example');
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/);

  const sameOrigin = await fetch(`${server.url}/api/health`, { headers: { origin: server.url } });
  assert.equal(sameOrigin.headers.get('access-control-allow-origin'), null);
});

test('pages carry a Content-Security-Policy and nosniff; the iframe stream keeps its own frame-ancestors', async (t) => {
  const server = await startServer(t);
  for (const path of ['/', '/techniques/sse.html', '/results/']) {
    const page = await fetch(`${server.url}${path}`);
    assert.equal(page.headers.get('content-security-policy'), PAGE_CSP, path);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff', path);
  }
  assert.match(PAGE_CSP, /script-src 'self'/);
  assert.doesNotMatch(PAGE_CSP, /unsafe-inline|unsafe-eval/);
  const api = await fetch(`${server.url}/api/stats`);
  assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
  const controller = new AbortController();
  const iframe = await fetch(`${server.url}/api/forever-iframe`, { signal: controller.signal });
  assert.equal(iframe.headers.get('content-security-policy'), "frame-ancestors 'self'");
  controller.abort();
});
