import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_CONFIG, loadConfig } from './config.ts';

test('an empty environment gives the documented defaults', () => {
  assert.deepEqual(loadConfig({}), DEFAULT_CONFIG);
  assert.equal(DEFAULT_CONFIG.port, 3000);
  assert.equal(DEFAULT_CONFIG.host, '127.0.0.1');
  assert.equal(DEFAULT_CONFIG.historySize, 1000);
  assert.equal(DEFAULT_CONFIG.heartbeatMs, 15_000);
  assert.equal(DEFAULT_CONFIG.longPollTimeoutMs, 25_000);
  assert.equal(DEFAULT_CONFIG.maxTextBytes, 4096);
});

test('variables are read and parsed', () => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    FEED: 'memory',
    HISTORY_SIZE: '50',
    HEARTBEAT_MS: '1000',
    ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080',
    LOG_LEVEL: 'warn',
  });
  assert.equal(config.port, 8080);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.historySize, 50);
  assert.equal(config.heartbeatMs, 1000);
  assert.deepEqual(config.allowedOrigins, ['https://a.example', 'http://b.example:8080']);
  assert.equal(config.logLevel, 'warn');
});

const BAD: Record<string, string>[] = [
  { PORT: 'abc' },
  { PORT: '70000' },
  { PORT: '-1' },
  { HISTORY_SIZE: '0' },
  { HISTORY_SIZE: '1.5' },
  { HEARTBEAT_MS: '10' },
  { MAX_TEXT_BYTES: '' + 2 ** 30 },
  { FEED: 'postgres://x' },
  { FEED: 'redis://' },
  { FEED: 'redis://127.0.0.1:6379/feed' },
  { REDIS_KEY_PREFIX: '{lab}' },
  { ALLOWED_ORIGINS: 'not a url' },
  { ALLOWED_ORIGINS: 'https://a.example/path' },
  { LOG_LEVEL: 'loud' },
  { HOST: 'a b' },
  { LONG_POLL_TIMEOUT_MS: '60000' },
  { MAX_TEXT_BYTES: '20000' },
  { HEADERS_TIMEOUT_MS: '40000' },
  { MAX_CONNECTIONS_PER_ADDRESS: '-1' },
  { MAX_CONNECTIONS_PER_ADDRESS: 'many' },
  { POLL_PAGE_BYTES: '100' },
  { POLL_PAGE_BYTES: '' + 2 ** 30 },
];

for (const env of BAD) {
  const [name] = Object.keys(env);
  test(`${name}=${JSON.stringify(env[name as string])} is refused with a message naming the variable`, () => {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && error.message.includes(name as string),
    );
  });
}

test('FEED takes a redis:// URL, and REDIS_KEY_PREFIX names its keys', () => {
  const config = loadConfig({ FEED: 'redis://:secret@127.0.0.1:6380/2', REDIS_KEY_PREFIX: 'class-3b' });
  assert.equal(config.feed, 'redis://:secret@127.0.0.1:6380/2');
  assert.equal(config.redisKeyPrefix, 'class-3b');
  assert.equal(loadConfig({}).feed, 'memory');
});

test('MAX_CONNECTIONS_PER_ADDRESS is 32 by default and 0 turns it off; POLL_PAGE_BYTES is 64 KiB by default', () => {
  assert.equal(DEFAULT_CONFIG.maxConnectionsPerAddress, 32);
  assert.equal(DEFAULT_CONFIG.pollPageBytes, 65536);
  const config = loadConfig({ MAX_CONNECTIONS_PER_ADDRESS: '0', POLL_PAGE_BYTES: '4096' });
  assert.equal(config.maxConnectionsPerAddress, 0);
  assert.equal(config.pollPageBytes, 4096);
});
