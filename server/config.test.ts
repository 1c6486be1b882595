import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_CONFIG, loadConfig, minBodyLimitBytes } from './config.ts';
import { largestPublish } from '../test/support.ts';

test('an empty environment gives the documented defaults', () => {
  assert.deepEqual(loadConfig({}), DEFAULT_CONFIG);
  assert.equal(DEFAULT_CONFIG.port, 3000);
  assert.equal(DEFAULT_CONFIG.host, '127.0.0.1');
  assert.equal(DEFAULT_CONFIG.historySize, 1000);
  assert.equal(DEFAULT_CONFIG.heartbeatMs, 15_000);
  assert.equal(DEFAULT_CONFIG.wsPingBudget, 50);
  assert.equal(DEFAULT_CONFIG.longPollTimeoutMs, 25_000);
  assert.equal(DEFAULT_CONFIG.maxTextBytes, 4096);
  assert.equal(DEFAULT_CONFIG.publishRatePerAddress, 200);
  assert.equal(DEFAULT_CONFIG.publishBurstPerAddress, 400);
});

test('variables are read and parsed', () => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    FEED: 'memory',
    HISTORY_SIZE: '50',
    HEARTBEAT_MS: '1000',
    WS_PING_BUDGET: '500',
    ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080',
    LOG_LEVEL: 'warn',
    PUBLISH_RATE_PER_ADDRESS: '0',
    PUBLISH_BURST_PER_ADDRESS: '7',
  });
  assert.equal(config.port, 8080);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.historySize, 50);
  assert.equal(config.heartbeatMs, 1000);
  assert.equal(config.wsPingBudget, 500);
  assert.deepEqual(config.allowedOrigins, ['https://a.example', 'http://b.example:8080']);
  assert.equal(config.logLevel, 'warn');
  assert.equal(config.publishRatePerAddress, 0);
  assert.equal(config.publishBurstPerAddress, 7);
});

const BAD: Record<string, string>[] = [
  { PORT: 'abc' },
  { PORT: '70000' },
  { PORT: '-1' },
  { HISTORY_SIZE: '0' },
  { HISTORY_SIZE: '1.5' },
  { HEARTBEAT_MS: '10' },
  { WS_PING_BUDGET: '0' },
  { MAX_TEXT_BYTES: `${2 ** 30}` },
  { FEED: 'postgres://x' },
  { FEED: 'redis://' },
  { FEED: 'redis://127.0.0.1:6379/feed' },
  { REDIS_KEY_PREFIX: '{lab}' },
  { ALLOWED_ORIGINS: 'not a url' },
  { ALLOWED_ORIGINS: 'https://a.example/path' },
  { LOG_LEVEL: 'loud' },
  { HOST: 'a b' },
  { PUBLISH_RATE_PER_ADDRESS: '-5' },
  { PUBLISH_BURST_PER_ADDRESS: '0' },
  { LONG_POLL_TIMEOUT_MS: '60000' },
  { MAX_TEXT_BYTES: '20000' },
  { HEADERS_TIMEOUT_MS: '40000' },
  { BODY_LIMIT_BYTES: '16384' },
  { MAX_CONNECTIONS_PER_ADDRESS: '-1' },
  { MAX_CONNECTIONS_PER_ADDRESS: 'many' },
  { POLL_PAGE_BYTES: '100' },
  { POLL_PAGE_BYTES: `${2 ** 30}` },
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

test('ALLOWED_HOSTS takes hostnames and addresses, written as a browser sends them', () => {
  const config = loadConfig({ ALLOWED_HOSTS: 'Lab.Example.Org, fd00::5, [::2], 192.0.2.9, realtime_lab' });
  assert.deepEqual(config.allowedHosts, ['lab.example.org', '[fd00::5]', '[::2]', '192.0.2.9', 'realtime_lab']);
  assert.deepEqual(loadConfig({}).allowedHosts, []);
});

for (const value of [
  '*',
  '*.example.org',
  'lab.example.org:8080',
  'https://lab.example.org',
  'lab.example.org/',
  'a,,b',
]) {
  test(`ALLOWED_HOSTS=${JSON.stringify(value)} is refused with a message naming the variable`, () => {
    assert.throws(
      () => loadConfig({ ALLOWED_HOSTS: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('ALLOWED_HOSTS'),
    );
  });
}
test('BODY_LIMIT_BYTES must hold the largest legal publish of MAX_TEXT_BYTES, however escaped; the message names both', () => {
  const largest = Buffer.byteLength(largestPublish(4096, 'websocket').json);
  assert.equal(minBodyLimitBytes(4096), largest);
  assert.equal(largest, 25_777);
  assert.ok(DEFAULT_CONFIG.bodyLimitBytes >= largest);
  assert.equal(DEFAULT_CONFIG.bodyLimitBytes, 32_768);
  assert.equal(loadConfig({ BODY_LIMIT_BYTES: String(largest) }).bodyLimitBytes, largest);
  assert.throws(
    () => loadConfig({ BODY_LIMIT_BYTES: String(largest - 1) }),
    (error: unknown) =>
      error instanceof ConfigError &&
      /BODY_LIMIT_BYTES \(25776\) must be at least 25777 for MAX_TEXT_BYTES 4096/.test(error.message),
  );
  assert.throws(
    () => loadConfig({ MAX_TEXT_BYTES: '8192' }),
    (error: unknown) =>
      error instanceof ConfigError &&
      /BODY_LIMIT_BYTES \(32768\) must be at least 50353 for MAX_TEXT_BYTES 8192/.test(error.message),
  );
  assert.equal(loadConfig({ MAX_TEXT_BYTES: '8192', BODY_LIMIT_BYTES: '65536' }).maxTextBytes, 8192);
});

test('MAX_CONNECTIONS_PER_ADDRESS is 32 by default and 0 turns it off; POLL_PAGE_BYTES is 64 KiB by default', () => {
  assert.equal(DEFAULT_CONFIG.maxConnectionsPerAddress, 32);
  assert.equal(DEFAULT_CONFIG.pollPageBytes, 65536);
  const config = loadConfig({ MAX_CONNECTIONS_PER_ADDRESS: '0', POLL_PAGE_BYTES: '4096' });
  assert.equal(config.maxConnectionsPerAddress, 0);
  assert.equal(config.pollPageBytes, 4096);
});
