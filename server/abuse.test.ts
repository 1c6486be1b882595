import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { ABUSE_WARN_INTERVAL_MS, AbuseMeter } from './abuse.ts';

/** A logger that keeps the level of each line. */
function recordingLog(): { log: FastifyBaseLogger; levels: string[] } {
  const levels: string[] = [];
  const log = {
    debug: () => levels.push('debug'),
    warn: () => levels.push('warn'),
  } as unknown as FastifyBaseLogger;
  return { log, levels };
}

test('every abuse event is a debug line; a warn line sums them up at most once per interval', () => {
  let now = 0;
  const abuse = new AbuseMeter(() => now);
  const { log, levels } = recordingLog();
  for (let i = 0; i < 1000; i += 1) abuse.report('websocketProtocolErrors', log, {}, 'bad frame');
  assert.equal(levels.filter((level) => level === 'debug').length, 1000);
  assert.equal(levels.filter((level) => level === 'warn').length, 1, 'one warn line for the first event');
  now = ABUSE_WARN_INTERVAL_MS - 1;
  abuse.report('websocketPolicyCloses', log, {}, 'too many pings');
  assert.equal(levels.filter((level) => level === 'warn').length, 1, 'still quiet within the interval');
  now = ABUSE_WARN_INTERVAL_MS;
  abuse.report('websocketPolicyCloses', log, {}, 'too many pings');
  assert.equal(levels.filter((level) => level === 'warn').length, 2, 'one more once the interval is over');
  abuse.count('rateLimitedPublishes');
  assert.deepEqual(abuse.snapshot(), {
    websocketProtocolErrors: 1000,
    websocketPolicyCloses: 2,
    rateLimitedPublishes: 1,
  });
  assert.equal(levels.length, 1004, 'count() logs nothing');
});
