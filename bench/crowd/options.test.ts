import assert from 'node:assert/strict';
import { techniques } from '../../server/contract/techniques.js';
import { test } from '../../test/suite.ts';
import { UsageError, parseOptions } from '../options.ts';
import { CROWD_DURATION_SEC, CROWD_RATE, DEFAULT_CROWD_WORKERS } from './options.ts';

test('--crowd: by default the techniques that hold a connection open, 10 messages at 1/s, 4 workers', () => {
  const options = parseOptions(['--crowd', '10000,1000,2000,5000']);
  assert.deepEqual(options?.crowd, { sizes: [1000, 2000, 5000, 10000], workers: DEFAULT_CROWD_WORKERS });
  assert.deepEqual(
    options?.techniques,
    techniques.filter((t) => t.capabilities.holdsRequest || t.capabilities.streams).map((t) => t.id),
  );
  assert.ok(!options?.techniques.some((id) => techniques.find((t) => t.id === id)?.capabilities.pollsWhenIdle));
  assert.equal(options?.rate, CROWD_RATE);
  assert.equal(options?.durationSec, CROWD_DURATION_SEC);
  // The default run is untouched.
  assert.equal(parseOptions([])?.crowd, null);
});

test('--crowd: bad sizes, bad workers and other runs’ flags are clear usage errors', () => {
  const refused: [string[], RegExp][] = [
    [['--crowd', '0'], /--crowd: 0 is out of range \(1\.\.10000\)/],
    [['--crowd', '20000'], /out of range/],
    [['--crowd', '100,x'], /--crowd: expected a whole number, got "x"/],
    [['--crowd', '100,100'], /listed twice/],
    [['--crowd', '100', '--crowd-workers', '0'], /--crowd-workers: 0 is out of range/],
    [['--crowd-workers', '2'], /give --crowd too/],
    [['--crowd', '100', '--clients', '5'], /--clients is for other runs/],
    [['--crowd', '100', '--url', 'http://127.0.0.1:1'], /--url is for other runs/],
    [['--crowd', '100', '--peers'], /--peers is for other runs/],
    [['--crowd', '100', '--rate', '0'], /--rate: 0 is out of range/],
  ];
  for (const [argv, message] of refused)
    assert.throws(
      () => parseOptions(argv),
      (error) => error instanceof UsageError && message.test(error.message),
      argv.join(' '),
    );
});
