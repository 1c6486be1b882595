/**
 * Test support: a real server on port 0, publishing, waiting, the private redis-server, and
 * the largest legal publish. The test clients, one per wire format, are in `./clients/`.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { type AppOptions, type RealtimeLab, buildApp } from '../server/app.ts';
import type { Config } from '../server/config.ts';
import { MAX_AUTHOR_CHARS, MAX_REF_CHARS, type Message, type PublishInput } from '../server/message.ts';
import { type RedisProcess, startRedis } from '../bench/redis-process.ts';
import { type Certificate, certificateFor } from '../server/tls.ts';
import { REDIS, type ToolOptions, needs } from './tools.ts';
import { labFetch, type TlsProtocol, trustOrigin } from './tls-fetch.ts';

export interface TestServer extends RealtimeLab {
  /** http://127.0.0.1:PORT (https:// over TLS), no trailing slash. */
  url: string;
  /** The HTTP versions of the requests served (`1.1`, `2.0`; WebSocket upgrades are not requests), to check what a client spoke. */
  httpVersions: Set<string>;
}

export interface TestServerOptions extends AppOptions {
  /**
   * Serve over TLS (HTTP/2 and HTTP/1.1 by ALPN, with the test certificate), and have the
   * test clients (`labFetch`, `ws`) reach it over this protocol.
   */
  tls?: TlsProtocol;
}

/**
 * Builds the app with a quiet logger, listens on a free port (or on `config.port` when
 * given, e.g. to restart a server where its clients expect it), and closes it after the test.
 */
export async function startServer(t: TestContext, options: TestServerOptions = {}): Promise<TestServer> {
  const { tls, ...appOptions } = options;
  const certificate = tls ? await testCertificate() : undefined;
  const lab = await buildApp({
    ...appOptions,
    ...(certificate && { certificate }),
    config: { logLevel: 'silent', ...appOptions.config, ...(tls && { tls: true }) },
  });
  await lab.app.listen({ port: options.config?.port ?? 0, host: '127.0.0.1' });
  const address = lab.app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server has no address');
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  const httpVersions = new Set<string>();
  lab.app.server.on('request', (req: { httpVersion: string }) => httpVersions.add(req.httpVersion));
  const forget = tls && certificate ? await trustOrigin(url, certificate.cert, tls) : undefined;
  // node:test runs a test's `after` hooks in the order they were added: the server closes
  // first (its clients told goodbye), then the client connections are cut.
  t.after(() => lab.app.close());
  if (forget) t.after(forget);
  return { ...lab, url, httpVersions };
}

let certificate: Promise<Certificate> | undefined;

/**
 * The certificate of every TLS test server of this process: a development certificate
 * made once, in a temporary directory removed at exit.
 */
export function testCertificate(): Promise<Certificate> {
  certificate ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-certs-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return certificateFor({ host: '127.0.0.1', dir });
  })();
  return certificate;
}

/**
 * A private redis-server for the calling test file: started before its tests, disposed
 * after them. Returns a getter, valid inside tests; nothing starts where Redis is missing
 * (the tests that use it are declared with `needs(REDIS)`, so they are skipped).
 */
export function usePrivateRedis(): () => RedisProcess {
  needs(REDIS);
  let redis: RedisProcess | undefined;
  before(async () => {
    if (!REDIS.missing) redis = await startRedis();
  });
  after(() => redis?.dispose());
  return () => {
    if (!redis) throw new Error('the private Redis is used outside a test, or redis-server is missing');
    return redis;
  };
}

/** A feed backend a suite runs on: the settings that select it, fresh keys each call. */
export interface FeedBackend {
  name: 'memory' | 'redis';
  config(): Partial<Config>;
  /** Options for its suite: skipped, with the reason, where the backend's tool is missing. */
  needs: ToolOptions;
}

/**
 * The two feed backends, for suites that must hold on both. Call it at the top of a test
 * file: it starts one private redis-server for the file (stopped after it), and each
 * `config()` of the Redis backend names new keys, so every server starts on an empty feed.
 */
export function feedBackends(): FeedBackend[] {
  const memory: FeedBackend = { name: 'memory', config: () => ({}), needs: {} };
  const redis = usePrivateRedis();
  let feeds = 0;
  return [
    memory,
    {
      name: 'redis',
      needs: needs(REDIS),
      config: () => {
        feeds += 1;
        return { feed: redis().url as Config['feed'], redisKeyPrefix: `test-${feeds}` };
      },
    },
  ];
}

/** Publishes over HTTP and returns the stored message; throws on anything but 201. */
export async function publish(url: string, input: PublishInput): Promise<Message> {
  const response = await labFetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  if (response.status !== 201) throw new Error(`publish answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Message;
}

/**
 * Resolves when `condition()` holds, polling every few ms; rejects with `what` (computed
 * then, when it is a function) after `timeoutMs`.
 */
export async function until(condition: () => boolean, what: string | (() => string), timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A JSON string literal of `value` with every UTF-16 unit written `\uXXXX`: the longest
 * JSON any encoder may write for it, to test that the body limit fits every legal publish.
 */
export function escapeEveryCharacter(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i += 1) out += `\\u${value.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return `${out}"`;
}

/**
 * The largest legal publish, as the longest JSON that can carry it: a text of
 * `maxTextBytes` control characters, an author and (on a WebSocket) a ref of the most
 * four-byte characters allowed, every character escaped.
 */
export function largestPublish(
  maxTextBytes: number,
  envelope: 'http' | 'websocket',
): { json: string; text: string; author: string } {
  const text = '\u0001'.repeat(maxTextBytes);
  const author = '🦊'.repeat(MAX_AUTHOR_CHARS);
  const fields = [`"author":${escapeEveryCharacter(author)}`, `"text":${escapeEveryCharacter(text)}`];
  if (envelope === 'websocket') {
    fields.unshift('"type":"publish"');
    fields.push(`"ref":${escapeEveryCharacter('🦊'.repeat(MAX_REF_CHARS))}`);
  }
  return { json: `{${fields.join(',')}}`, text, author };
}
