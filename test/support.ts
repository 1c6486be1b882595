/**
 * Test support: a real server on port 0, and one real client per technique behind one
 * interface, so a suite can run the same assertions against every technique.
 *
 * The clients are the ones a user would use: fetch for the polling techniques, the
 * `eventsource` package for SSE, `ws` for WebSocket, and for the forever iframe a
 * streaming fetch whose <script> elements run in a `vm` context that plays the parent page.
 */
import { after, before, type TestContext } from 'node:test';
import vm from 'node:vm';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { type AppOptions, type RealtimeLab, buildApp } from '../server/app.ts';
import type { Config } from '../server/config.ts';
import { MAX_AUTHOR_CHARS, MAX_REF_CHARS, type Message, type PublishInput } from '../server/message.ts';
import { type RedisProcess, startRedis } from '../bench/redis-process.ts';
import { REDIS, type ToolOptions, needs } from './tools.ts';
import type { ControlEvent } from '../server/transport.ts';

export interface TestServer extends RealtimeLab {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
}

/**
 * Builds the app with a quiet logger, listens on a free port (or on `config.port` when
 * given, e.g. to restart a server where its clients expect it), and closes it after the test.
 */
export async function startServer(t: TestContext, options: AppOptions = {}): Promise<TestServer> {
  const lab = await buildApp({ ...options, config: { logLevel: 'silent', ...options.config } });
  await lab.app.listen({ port: options.config?.port ?? 0, host: '127.0.0.1' });
  const address = lab.app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server has no address');
  t.after(() => lab.app.close());
  return { ...lab, url: `http://127.0.0.1:${address.port}` };
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
  const response = await fetch(`${url}/api/messages`, {
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
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Where a client is: the epoch of the feed it follows and the id of its last message. */
export interface ClientPosition {
  epoch?: string;
  cursor?: number;
}

/** A subscriber of one technique, as the tests see it. */
export interface FeedClient {
  readonly technique: string;
  /** Every message received, in arrival order, duplicates included. */
  readonly messages: Message[];
  /** Every control event received but the stream's opening `epoch` (gap, reset, end). */
  readonly events: ControlEvent[];
  /**
   * Where it would resume: kept the way a real client must keep it. The epoch is taken
   * from the first answer or the stream's `epoch` event when it had none, and replaced
   * only by a `reset`, which also sends the cursor back to 0.
   */
  readonly position: ClientPosition;
  /** Resolves once `count` messages have arrived. */
  received(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** The cursor to start from; omitted means live only. */
  since?: number;
  /** The epoch `since` belongs to; omitted sends a bare cursor, as a hand-typed `since=5`. */
  epoch?: string;
  /** SSE only: sent as the Last-Event-ID header of the first request (`<epoch>.<id>` or a bare id). */
  lastEventId?: number | string;
  /** Polling only: pause between polls, ms. */
  pollIntervalMs?: number;
}

type ClientFactory = (url: string, options: ClientOptions) => Promise<FeedClient>;

/**
 * One real client per technique id. Each resolves once it is subscribed, so a message
 * published after that must reach it.
 */
export const clients: Record<string, ClientFactory> = {
  'short-polling': (url, options) => pollingClient('short-polling', url, options),
  'long-polling': (url, options) => pollingClient('long-polling', url, options),
  'forever-iframe': iframeClient,
  sse: sseClient,
  websocket: websocketClient,
};

interface ClientBase extends Omit<FeedClient, 'close'> {
  /** Takes a message: kept, and the cursor moves to it. */
  take(message: Message): void;
  /** Takes a control event: `epoch` names the feed when the client had none; `reset` replaces it. */
  control(event: ControlEvent): void;
}

function base(technique: string, options: ClientOptions): ClientBase {
  const messages: Message[] = [];
  const events: ControlEvent[] = [];
  const position: ClientPosition = { epoch: options.epoch, cursor: options.since };
  return {
    technique,
    messages,
    events,
    position,
    received: (count, timeoutMs = 5000) =>
      until(() => messages.length >= count, () => `${count} messages on ${technique} (have ${messages.length})`, timeoutMs),
    take(message) {
      messages.push(message);
      position.cursor = message.id;
    },
    control(event) {
      if (event.type === 'epoch') {
        // Not adopted over an epoch the client has: if it differs, a reset follows.
        position.epoch ??= event.epoch;
        return;
      }
      events.push(event);
      if (event.type === 'reset') {
        position.epoch = event.epoch;
        position.cursor = 0;
      }
    },
  };
}

/** The query string of a client's first request: its cursor and the epoch it belongs to. */
function query(options: ClientOptions): string {
  const params = new URLSearchParams();
  if (options.since !== undefined) params.set('since', String(options.since));
  if (options.since !== undefined && options.epoch !== undefined) params.set('epoch', options.epoch);
  const text = params.toString();
  return text ? `?${text}` : '';
}

interface PollAnswer {
  epoch: string;
  cursor: number;
  messages: Message[];
  missed?: number;
  reset?: boolean;
  /** The answer was cut to a page: ask again at once. */
  more?: boolean;
}

/** Resolves after `ms`, or at once when `signal` aborts (a client closed mid-interval). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function pollingClient(technique: string, url: string, options: ClientOptions): Promise<FeedClient> {
  const client = base(technique, options);
  const { position } = client;
  const abort = new AbortController();
  const extra = technique === 'long-polling' ? '&timeout=1000' : '';
  const interval = options.pollIntervalMs ?? 20;
  let more = false;
  let failure: unknown = null;

  const poll = async (): Promise<void> => {
    const asked = query({ since: position.cursor, epoch: position.epoch });
    const response = await fetch(`${url}/api/${technique}${asked || '?'}${extra}`, { signal: abort.signal });
    if (response.status !== 200) throw new Error(`${technique} answered ${response.status}: ${await response.text()}`);
    const answer = (await response.json()) as PollAnswer;
    if (answer.reset) client.control({ type: 'reset', epoch: answer.epoch });
    if (answer.missed) client.control({ type: 'gap', missed: answer.missed });
    for (const message of answer.messages) client.take(message);
    // The answer names the feed it was read from: with no reset, the client's own.
    position.epoch = answer.epoch;
    position.cursor = answer.cursor;
    more = answer.more === true;
  };
  // The first answer fixes the cursor, so from here on nothing can be missed.
  await poll();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      if (technique === 'short-polling' && !more) await sleep(interval, abort.signal);
      try {
        await poll();
      } catch (error) {
        if (!abort.signal.aborted) failure = error;
        return;
      }
    }
  })();
  return {
    ...client,
    received: async (count, timeoutMs) => {
      await client.received(count, timeoutMs).catch((error: unknown) => {
        throw failure ?? error;
      });
    },
    close: async () => {
      abort.abort();
      await loop;
    },
  };
}

async function sseClient(url: string, options: ClientOptions): Promise<FeedClient> {
  const client = base('sse', options);
  const headers: Record<string, string> = {};
  if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
  let first = true;
  const source = new EventSource(`${url}/api/sse${query(options)}`, {
    // Only the first request carries our header; reconnects carry EventSource's own.
    fetch: (input, init) => {
      const merged = first ? { ...init, headers: { ...init?.headers, ...headers } } : init;
      first = false;
      return fetch(input, merged);
    },
  });
  source.addEventListener('message', (event) => client.take(JSON.parse(event.data) as Message));
  for (const type of ['epoch', 'gap', 'reset', 'end'] as const) {
    source.addEventListener(type, (event) => client.control(JSON.parse(event.data) as ControlEvent));
  }
  await new Promise<void>((resolve, reject) => {
    source.addEventListener('open', () => resolve(), { once: true });
    source.addEventListener('error', (event) => reject(new Error(`sse failed to open: ${event.message ?? 'error'}`)), { once: true });
  });
  return { ...client, close: async () => source.close() };
}

async function websocketClient(url: string, options: ClientOptions): Promise<FeedClient> {
  const client = base('websocket', options);
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/websocket${query(options)}`);
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    if ('type' in frame) client.control(frame as ControlEvent);
    else client.take(frame as unknown as Message);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    ...client,
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.close();
      });
    },
  };
}

/**
 * Reads the never-ending HTML as a browser would, as it arrives, and runs each <script> in
 * a context whose `parent` has the two functions a real parent page defines.
 */
async function iframeClient(url: string, options: ClientOptions): Promise<FeedClient> {
  const client = base('forever-iframe', options);
  const abort = new AbortController();
  const response = await fetch(`${url}/api/forever-iframe${query(options)}`, { signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`forever-iframe answered ${response.status}`);
  // Objects made inside the vm have the vm's prototypes: copy them into this realm.
  const parentPage = {
    onFeedMessage: (message: Message) => client.take(structuredClone(message)),
    onFeedEvent: (event: ControlEvent) => client.control(structuredClone(event)),
  };
  const sandbox = vm.createContext({ parent: parentPage });
  const done = (async () => {
    const decoder = new TextDecoder();
    let html = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        html += decoder.decode(chunk, { stream: true });
        for (const match of takeScripts(html)) vm.runInContext(match.code, sandbox);
        html = html.slice(lastScriptEnd(html));
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  return {
    ...client,
    close: async () => {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}

const SCRIPT = /<script>([\s\S]*?)<\/script>/g;

function takeScripts(html: string): { code: string }[] {
  return [...html.matchAll(SCRIPT)].map((match) => ({ code: match[1] ?? '' }));
}

function lastScriptEnd(html: string): number {
  const index = html.lastIndexOf('</script>');
  return index === -1 ? 0 : index + '</script>'.length;
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
export function largestPublish(maxTextBytes: number, envelope: 'http' | 'websocket'): { json: string; text: string; author: string } {
  const text = '\u0001'.repeat(maxTextBytes);
  const author = '🦊'.repeat(MAX_AUTHOR_CHARS);
  const fields = [`"author":${escapeEveryCharacter(author)}`, `"text":${escapeEveryCharacter(text)}`];
  if (envelope === 'websocket') {
    fields.unshift('"type":"publish"');
    fields.push(`"ref":${escapeEveryCharacter('🦊'.repeat(MAX_REF_CHARS))}`);
  }
  return { json: `{${fields.join(',')}}`, text, author };
}
