import { HEARTBEAT_MS, IFRAME_MAX_BYTES, LONG_POLL_TIMEOUT_MS, POLL_PAGE_BYTES } from './contract/defaults.js';
import { hostnameOf } from './host-check.ts';

/**
 * The server's configuration: every knob, its environment variable, its default and its
 * unit, in one table. `loadConfig(process.env)` reads them all and refuses a bad value
 * with a message that names the variable, so a typo stops the start instead of
 * surfacing later as odd behaviour.
 */
import { MAX_AUTHOR_CHARS, MAX_REF_CHARS } from './message.ts';

export interface Config {
  /** TCP port to listen on. `PORT`, default 3000; 0 picks a free port. */
  port: number;
  /**
   * Interface to listen on. `HOST`, default 127.0.0.1; 0.0.0.0 lets a classroom connect.
   * A specific address or name is also a name requests may carry in their Host header.
   */
  host: string;
  /**
   * Feed backend. `FEED`, default `memory` (one process); a `redis://host:port[/db]` URL
   * shares the feed between every node on that Redis.
   */
  feed: 'memory' | `redis://${string}` | `rediss://${string}`;
  /** Prefix of the feed's Redis keys, so several labs can share one Redis. `REDIS_KEY_PREFIX`, default `realtime-lab`. */
  redisKeyPrefix: string;
  /** Messages kept for clients that resume with a cursor. `HISTORY_SIZE`, default 1000. */
  historySize: number;
  /** Longest message text, in bytes of UTF-8. `MAX_TEXT_BYTES`, default 4096. */
  maxTextBytes: number;
  /**
   * Largest publish body (HTTP) or frame (WebSocket), in bytes. `BODY_LIMIT_BYTES`,
   * default 32768. It must be at least `minBodyLimitBytes(MAX_TEXT_BYTES)` (25,777 for
   * the default 4096), so that every legal publish fits however its JSON escapes it;
   * the rest is room for whitespace.
   */
  bodyLimitBytes: number;
  /** Interval between heartbeats on held connections, ms. `HEARTBEAT_MS`, default 15000. */
  heartbeatMs: number;
  /**
   * Pings one WebSocket client may send in 10 s (PING_WINDOW_MS); each gets its pong, and
   * one more closes the connection with 1008. `WS_PING_BUDGET`, default 50.
   */
  wsPingBudget: number;
  /**
   * Whether the WebSocket endpoint accepts permessage-deflate (RFC 7692) when a client
   * offers it. `WS_PERMESSAGE_DEFLATE`, default false (`0`/`false`); `1`/`true` turns it on.
   * Off by default: with context takeover each connection holds its own zlib contexts
   * (about 300 KiB once a frame has been compressed), and every frame costs CPU to compress
   * for each connection; docs/bench.md measures what it saves.
   */
  wsPerMessageDeflate: boolean;
  /** Long-poll hold when the request names no `timeout`, ms. `LONG_POLL_TIMEOUT_MS`, default 25000. */
  longPollTimeoutMs: number;
  /** Longest hold a request may ask for with `timeout`, ms. `LONG_POLL_MAX_TIMEOUT_MS`, default 55000. */
  longPollMaxTimeoutMs: number;
  /**
   * Bytes one forever-iframe response may carry before the server ends it and the client
   * reopens with its cursor, so the iframe's document does not grow forever.
   * `IFRAME_MAX_BYTES`, default 262144.
   */
  iframeMaxBytes: number;
  /**
   * How long a streaming client (SSE, iframe, WebSocket) may leave a full buffer unread
   * before the server drops it as too slow, ms. `SLOW_CLIENT_TIMEOUT_MS`, default 15000.
   * A slow client that keeps draining is kept; it gets a gap if it falls out of history.
   * Also the write deadline of every other answer (polling, API, pages): one not handed
   * whole to the operating system within it has its connection closed.
   */
  slowClientTimeoutMs: number;
  /**
   * Browser origins, besides the server's own, that may open a WebSocket and read the API
   * across origins (CORS). `ALLOWED_ORIGINS`, comma-separated, default none.
   */
  allowedOrigins: string[];
  /**
   * Hostnames, besides localhost, 127.0.0.1, [::1], HOST and the address a client
   * connected to, that a request may name in its Host header: this machine's DNS name, or
   * the name a proxy in front forwards. Any other name gets 421, so a page on a
   * DNS-rebinding domain cannot pass for this server's own. `ALLOWED_HOSTS`,
   * comma-separated hostnames without port, default none.
   */
  allowedHosts: string[];
  /**
   * Messages one client may publish per second, sustained (HTTP and WebSocket together),
   * keyed by its `client` id, or by its address when it names none.
   * `PUBLISH_RATE_PER_CLIENT`, default 50; 0 turns the limit off.
   */
  publishRatePerClient: number;
  /** Messages a client may publish in a burst above the sustained rate. `PUBLISH_BURST`, default 100. */
  publishBurst: number;
  /**
   * Messages one address may publish per second, sustained, whatever client ids its
   * requests name, so inventing an id per publish does not escape the limit (an IPv6
   * address counts by its /64, which one host usually holds whole).
   * `PUBLISH_RATE_PER_ADDRESS`, default 200 (four clients' worth); 0 turns it off.
   */
  publishRatePerAddress: number;
  /** Messages one address may publish in a burst above its sustained rate. `PUBLISH_BURST_PER_ADDRESS`, default 400. */
  publishBurstPerAddress: number;
  /**
   * Chatters (a client id, nickname and technique each) one node keeps in the chat's
   * presence, every address together; past it, a new chatter's requests are served but it
   * is neither listed nor announced. `PRESENCE_MAX_CHATTERS`, default 4096.
   */
  presenceMaxChatters: number;
  /**
   * Chatters one node keeps from one address (an IPv6 /64), so that one address cannot
   * fill the registry for everyone. `PRESENCE_MAX_CHATTERS_PER_ADDRESS`, default 256
   * (a classroom of 30 behind one NAT, each on the side-by-side page's techniques).
   */
  presenceMaxChattersPerAddress: number;
  /**
   * Requests one technique may hold open at once (streams, WebSockets, held long polls);
   * past it, new ones get 503 with Retry-After. `MAX_CONNECTIONS_PER_TECHNIQUE`, default 10000.
   */
  maxConnectionsPerTechnique: number;
  /**
   * TCP connections one client address may hold open at once; past it, a new connection
   * gets 503 with Retry-After and is closed. `MAX_CONNECTIONS_PER_ADDRESS`, default 32
   * (a browser opens at most 6 per host, a few tabs and WebSockets fit); 0 turns the cap
   * off. Behind a proxy every client has the proxy's address: raise it or turn it off there.
   */
  maxConnectionsPerAddress: number;
  /**
   * Bytes of message JSON one polling answer (short or long polling) may carry, at least
   * one message whatever its size; an answer cut short says `"more":true`, and the client
   * asks again at once from its cursor. `POLL_PAGE_BYTES`, default 65536.
   */
  pollPageBytes: number;
  /** Time a client has to send a whole request, ms. `REQUEST_TIMEOUT_MS`, default 30000. */
  requestTimeoutMs: number;
  /** Time a client has to send the request headers, ms. `HEADERS_TIMEOUT_MS`, default 10000. */
  headersTimeoutMs: number;
  /**
   * Whether to serve HTTPS, with HTTP/2 and HTTP/1.1 on the same port (ALPN); WebSockets
   * then go over wss://. `TLS`, default false (`0`/`false`); `1`/`true`, or
   * `npm start -- --tls`, turns it on (docs/http2.md).
   */
  tls: boolean;
  /**
   * The certificate to serve with TLS, a PEM file. `TLS_CERT`, default none: the lab makes
   * a development certificate in `.certs/` at first start. Give TLS_KEY with it.
   */
  tlsCert: string;
  /** The private key of TLS_CERT, a PEM file. `TLS_KEY`, default none. */
  tlsKey: string;
  /** Fastify's logger level. `LOG_LEVEL`, default `info`; `silent` turns it off. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

type Env = Record<string, string | undefined>;

/** Thrown for a bad environment variable; `main.ts` prints the message and exits with 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const DEFAULT_CONFIG: Config = Object.freeze({
  port: 3000,
  host: '127.0.0.1',
  feed: 'memory',
  redisKeyPrefix: 'realtime-lab',
  historySize: 1000,
  maxTextBytes: 4096,
  bodyLimitBytes: 32 * 1024,
  heartbeatMs: HEARTBEAT_MS,
  wsPingBudget: 50,
  wsPerMessageDeflate: false,
  longPollTimeoutMs: LONG_POLL_TIMEOUT_MS,
  longPollMaxTimeoutMs: 55_000,
  iframeMaxBytes: IFRAME_MAX_BYTES,
  slowClientTimeoutMs: 15_000,
  allowedOrigins: [],
  allowedHosts: [],
  publishRatePerClient: 50,
  publishBurst: 100,
  publishRatePerAddress: 200,
  publishBurstPerAddress: 400,
  presenceMaxChatters: 4096,
  presenceMaxChattersPerAddress: 256,
  maxConnectionsPerTechnique: 10_000,
  maxConnectionsPerAddress: 32,
  pollPageBytes: POLL_PAGE_BYTES,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  tls: false,
  tlsCert: '',
  tlsKey: '',
  logLevel: 'info',
}) as Config;

/**
 * Each setting's environment variable and unit, in the order of the configuration table
 * in docs/configuration.md. test/docs.test.ts checks that table against this list, against
 * DEFAULT_CONFIG and against the variables `loadConfig` actually reads, so neither the
 * page nor this list can drift from the loader.
 */
export const CONFIG_VARIABLES: { readonly [K in keyof Config]: { readonly variable: string; readonly unit: string } } =
  Object.freeze({
    port: { variable: 'PORT', unit: 'port' },
    host: { variable: 'HOST', unit: 'address or name' },
    feed: { variable: 'FEED', unit: '`memory` or URL' },
    redisKeyPrefix: { variable: 'REDIS_KEY_PREFIX', unit: 'text' },
    historySize: { variable: 'HISTORY_SIZE', unit: 'messages' },
    maxTextBytes: { variable: 'MAX_TEXT_BYTES', unit: 'bytes' },
    bodyLimitBytes: { variable: 'BODY_LIMIT_BYTES', unit: 'bytes' },
    heartbeatMs: { variable: 'HEARTBEAT_MS', unit: 'ms' },
    wsPingBudget: { variable: 'WS_PING_BUDGET', unit: 'pings per 10 s' },
    wsPerMessageDeflate: { variable: 'WS_PERMESSAGE_DEFLATE', unit: '`1`/`true` or `0`/`false`' },
    longPollTimeoutMs: { variable: 'LONG_POLL_TIMEOUT_MS', unit: 'ms' },
    longPollMaxTimeoutMs: { variable: 'LONG_POLL_MAX_TIMEOUT_MS', unit: 'ms' },
    iframeMaxBytes: { variable: 'IFRAME_MAX_BYTES', unit: 'bytes' },
    slowClientTimeoutMs: { variable: 'SLOW_CLIENT_TIMEOUT_MS', unit: 'ms' },
    allowedOrigins: { variable: 'ALLOWED_ORIGINS', unit: 'origins, comma-separated' },
    allowedHosts: { variable: 'ALLOWED_HOSTS', unit: 'hostnames, comma-separated' },
    publishRatePerClient: { variable: 'PUBLISH_RATE_PER_CLIENT', unit: 'messages/s' },
    publishBurst: { variable: 'PUBLISH_BURST', unit: 'messages' },
    publishRatePerAddress: { variable: 'PUBLISH_RATE_PER_ADDRESS', unit: 'messages/s' },
    publishBurstPerAddress: { variable: 'PUBLISH_BURST_PER_ADDRESS', unit: 'messages' },
    presenceMaxChatters: { variable: 'PRESENCE_MAX_CHATTERS', unit: 'chatters' },
    presenceMaxChattersPerAddress: { variable: 'PRESENCE_MAX_CHATTERS_PER_ADDRESS', unit: 'chatters' },
    maxConnectionsPerTechnique: { variable: 'MAX_CONNECTIONS_PER_TECHNIQUE', unit: 'requests' },
    maxConnectionsPerAddress: { variable: 'MAX_CONNECTIONS_PER_ADDRESS', unit: 'connections' },
    pollPageBytes: { variable: 'POLL_PAGE_BYTES', unit: 'bytes' },
    requestTimeoutMs: { variable: 'REQUEST_TIMEOUT_MS', unit: 'ms' },
    headersTimeoutMs: { variable: 'HEADERS_TIMEOUT_MS', unit: 'ms' },
    tls: { variable: 'TLS', unit: '`1`/`true` or `0`/`false`' },
    tlsCert: { variable: 'TLS_CERT', unit: 'file' },
    tlsKey: { variable: 'TLS_KEY', unit: 'file' },
    logLevel: { variable: 'LOG_LEVEL', unit: 'level' },
  });

/**
 * Bytes of JSON one byte of UTF-8 in a value may take: a control character (1 byte) is
 * written `\u00XX` (6 bytes), as JSON.stringify does, and any encoder may write any
 * character so. Nothing costs more: a 2-, 3- or 4-byte character escapes to 6, 6 or 12.
 */
export const JSON_ESCAPE_FACTOR = 6;
/** Bytes of JSON one code point may take at most: a surrogate pair, each half `\uXXXX`. */
const MAX_ESCAPED_CODE_POINT_BYTES = 12;
/**
 * Bytes of the largest legal publish besides its text: the WebSocket envelope
 * `{"type":"publish","author":"","text":"","ref":""}` (49 bytes; the HTTP body's is
 * smaller), an author of MAX_AUTHOR_CHARS and a ref of MAX_REF_CHARS code points, all
 * written as escaped surrogate pairs. Whitespace between the tokens is not counted.
 */
export const PUBLISH_FRAME_OVERHEAD_BYTES =
  JSON.stringify({ type: 'publish', author: '', text: '', ref: '' }).length +
  (MAX_AUTHOR_CHARS + MAX_REF_CHARS) * MAX_ESCAPED_CODE_POINT_BYTES;

/**
 * The smallest BODY_LIMIT_BYTES with which every legal publish fits, however its JSON
 * escapes characters, in bytes: 25,777 for the default MAX_TEXT_BYTES of 4096.
 */
export function minBodyLimitBytes(maxTextBytes: number): number {
  return JSON_ESCAPE_FACTOR * maxTextBytes + PUBLISH_FRAME_OVERHEAD_BYTES;
}

/** Reads the configuration from environment variables; throws ConfigError on a bad value. */
export function loadConfig(env: Env): Config {
  const config: Config = {
    port: integer(env, 'PORT', DEFAULT_CONFIG.port, 0, 65535),
    host: text(env, 'HOST', DEFAULT_CONFIG.host),
    feed: feedBackend(env),
    redisKeyPrefix: keyPrefix(env),
    historySize: integer(env, 'HISTORY_SIZE', DEFAULT_CONFIG.historySize, 1, 10_000_000),
    maxTextBytes: integer(env, 'MAX_TEXT_BYTES', DEFAULT_CONFIG.maxTextBytes, 1, 1024 * 1024),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', DEFAULT_CONFIG.bodyLimitBytes, 64, 16 * 1024 * 1024),
    heartbeatMs: integer(env, 'HEARTBEAT_MS', DEFAULT_CONFIG.heartbeatMs, 100, 3_600_000),
    wsPingBudget: integer(env, 'WS_PING_BUDGET', DEFAULT_CONFIG.wsPingBudget, 1, 1_000_000),
    wsPerMessageDeflate: onOff(env, 'WS_PERMESSAGE_DEFLATE', DEFAULT_CONFIG.wsPerMessageDeflate),
    longPollTimeoutMs: integer(env, 'LONG_POLL_TIMEOUT_MS', DEFAULT_CONFIG.longPollTimeoutMs, 1, 3_600_000),
    longPollMaxTimeoutMs: integer(env, 'LONG_POLL_MAX_TIMEOUT_MS', DEFAULT_CONFIG.longPollMaxTimeoutMs, 1, 3_600_000),
    iframeMaxBytes: integer(env, 'IFRAME_MAX_BYTES', DEFAULT_CONFIG.iframeMaxBytes, 1024, 1024 * 1024 * 1024),
    slowClientTimeoutMs: integer(env, 'SLOW_CLIENT_TIMEOUT_MS', DEFAULT_CONFIG.slowClientTimeoutMs, 100, 3_600_000),
    allowedOrigins: origins(env),
    allowedHosts: hostnames(env),
    publishRatePerClient: integer(env, 'PUBLISH_RATE_PER_CLIENT', DEFAULT_CONFIG.publishRatePerClient, 0, 1_000_000),
    publishBurst: integer(env, 'PUBLISH_BURST', DEFAULT_CONFIG.publishBurst, 1, 1_000_000),
    publishRatePerAddress: integer(env, 'PUBLISH_RATE_PER_ADDRESS', DEFAULT_CONFIG.publishRatePerAddress, 0, 1_000_000),
    publishBurstPerAddress: integer(
      env,
      'PUBLISH_BURST_PER_ADDRESS',
      DEFAULT_CONFIG.publishBurstPerAddress,
      1,
      1_000_000,
    ),
    presenceMaxChatters: integer(env, 'PRESENCE_MAX_CHATTERS', DEFAULT_CONFIG.presenceMaxChatters, 0, 10_000_000),
    presenceMaxChattersPerAddress: integer(
      env,
      'PRESENCE_MAX_CHATTERS_PER_ADDRESS',
      DEFAULT_CONFIG.presenceMaxChattersPerAddress,
      0,
      10_000_000,
    ),
    maxConnectionsPerTechnique: integer(
      env,
      'MAX_CONNECTIONS_PER_TECHNIQUE',
      DEFAULT_CONFIG.maxConnectionsPerTechnique,
      1,
      10_000_000,
    ),
    maxConnectionsPerAddress: integer(
      env,
      'MAX_CONNECTIONS_PER_ADDRESS',
      DEFAULT_CONFIG.maxConnectionsPerAddress,
      0,
      10_000_000,
    ),
    pollPageBytes: integer(env, 'POLL_PAGE_BYTES', DEFAULT_CONFIG.pollPageBytes, 1024, 64 * 1024 * 1024),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', DEFAULT_CONFIG.requestTimeoutMs, 1000, 3_600_000),
    headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', DEFAULT_CONFIG.headersTimeoutMs, 1000, 3_600_000),
    tls: onOff(env, 'TLS', DEFAULT_CONFIG.tls),
    tlsCert: env.TLS_CERT || DEFAULT_CONFIG.tlsCert,
    tlsKey: env.TLS_KEY || DEFAULT_CONFIG.tlsKey,
    logLevel: oneOf(env, 'LOG_LEVEL', DEFAULT_CONFIG.logLevel, LOG_LEVELS),
  };
  return checkConsistency(config);
}

/** Checks the relations between settings; also used for configs built in code (tests). */
export function checkConsistency(config: Config): Config {
  if (config.longPollTimeoutMs > config.longPollMaxTimeoutMs) {
    throw new ConfigError(
      `LONG_POLL_TIMEOUT_MS (${config.longPollTimeoutMs}) must not exceed LONG_POLL_MAX_TIMEOUT_MS (${config.longPollMaxTimeoutMs})`,
    );
  }
  const needed = minBodyLimitBytes(config.maxTextBytes);
  if (config.bodyLimitBytes < needed) {
    throw new ConfigError(
      `BODY_LIMIT_BYTES (${config.bodyLimitBytes}) must be at least ${needed} for MAX_TEXT_BYTES ${config.maxTextBytes} ` +
        `(${JSON_ESCAPE_FACTOR} × MAX_TEXT_BYTES + ${PUBLISH_FRAME_OVERHEAD_BYTES}), or a legal text whose JSON escapes it could not be published`,
    );
  }
  // Node's headersTimeout must be below requestTimeout, or Node refuses to start.
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`,
    );
  }
  if (config.tls && Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new ConfigError('TLS_CERT and TLS_KEY go together: give both, or neither for the development certificate');
  }
  return config;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ConfigError(`${name} must be 1, true, 0 or false, got ${JSON.stringify(raw)}`);
}

function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/\s/.test(raw)) throw new ConfigError(`${name} must not contain spaces, got ${JSON.stringify(raw)}`);
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

function feedBackend(env: Env): Config['feed'] {
  const raw = env.FEED;
  if (raw === undefined || raw === '' || raw === 'memory') return 'memory';
  if (raw.startsWith('redis://') || raw.startsWith('rediss://')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(`FEED must be a URL like redis://127.0.0.1:6379, got ${JSON.stringify(raw)}`);
    }
    if (!url.hostname)
      throw new ConfigError(`FEED names no host: write it like redis://127.0.0.1:6379, got ${JSON.stringify(raw)}`);
    if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
      throw new ConfigError(`FEED's path must be a database number like /0, got ${JSON.stringify(url.pathname)}`);
    }
    return raw as Config['feed'];
  }
  throw new ConfigError(`FEED must be "memory" or a redis:// URL, got ${JSON.stringify(raw)}`);
}

function keyPrefix(env: Env): string {
  const raw = env.REDIS_KEY_PREFIX;
  if (raw === undefined || raw === '') return DEFAULT_CONFIG.redisKeyPrefix;
  // Braces would break the hash tag that keeps the feed's keys on one Redis Cluster slot.
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(raw)) {
    throw new ConfigError(`REDIS_KEY_PREFIX must be 1 to 64 letters, digits or ":._-", got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function origins(env: Env): string[] {
  const raw = env.ALLOWED_ORIGINS;
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(
        `ALLOWED_ORIGINS holds ${JSON.stringify(origin)}, which is not an origin like https://example.org`,
      );
    }
    if (url.origin !== origin) {
      throw new ConfigError(
        `ALLOWED_ORIGINS holds ${JSON.stringify(origin)}; write the bare origin ${JSON.stringify(url.origin)}`,
      );
    }
    return origin;
  });
}

function hostnames(env: Env): string[] {
  const raw = env.ALLOWED_HOSTS;
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const name = entry.trim();
    // No wildcard on purpose: "any name" includes the rebinding attacker's.
    if (name.includes('*'))
      throw new ConfigError(
        `ALLOWED_HOSTS holds ${JSON.stringify(name)}: list each hostname; a wildcard would let any DNS name through, a rebinding attacker's too`,
      );
    // An IPv6 address may come without its brackets; one colon is a port.
    const bare = name.includes(':') && !name.startsWith('[') && !/^[^:]*:\d*$/.test(name) ? `[${name}]` : name;
    const hostname = hostnameOf(bare);
    if (hostname === null) {
      throw new ConfigError(
        `ALLOWED_HOSTS holds ${JSON.stringify(name)}, which is not a hostname like lab.example.org`,
      );
    }
    if (bare.toLowerCase() !== hostname) {
      throw new ConfigError(
        `ALLOWED_HOSTS holds ${JSON.stringify(name)}; write the bare hostname ${JSON.stringify(hostname)} (ports are not checked)`,
      );
    }
    return hostname;
  });
}
