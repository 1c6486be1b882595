/**
 * A --peers row over several rounds (rounds.ts): each figure the median of its rounds,
 * each count their sum, so one slow round moves nothing and one lost message stays lost.
 */
import assert from 'node:assert/strict';
import { test } from '../../test/suite.ts';
import type { LatencySummary } from '../delivery.ts';
import { renderPeers } from '../report/peers.ts';
import type { BenchResult } from '../result.ts';
import { bestPerFamily } from './best.ts';
import { median, rowOfRounds } from './rounds.ts';
import type { PeerRowResult } from './run.ts';

function latency(p50: number, p99: number): LatencySummary {
  return { samples: 100, mean: p50, p50, p90: p50 * 1.5, p99, max: p99 * 2, percentiles: [0, p50, p99] };
}

function round(p50: number, p99: number, heldPerConnection: number, lost = 0): PeerRowResult {
  return {
    family: 'websocket',
    side: 'realtime-lab',
    name: 'websocket',
    server: 'realtime-lab (server/main.ts)',
    client: 'ws',
    clients: 10,
    messagesPublished: 10,
    messagesExpected: 100,
    messagesDelivered: 100 - lost,
    lost,
    duplicates: 0,
    outOfOrder: 0,
    wireBytesPerMessage: 101 + p50,
    latencyMs: latency(p50, p99),
    cpuMs: 10 * p50,
    cpuUsPerMessage: p50,
    memory: {
      clients: 1000,
      codeBeforeBytes: 3_000_000,
      codeConnectedBytes: 3_050_000,
      heldBeforeBytes: 1_000_000,
      heldConnectedBytes: 1_000_000 + 1000 * heldPerConnection,
      perConnectionBytes: heldPerConnection,
      rssBeforeBytes: 50_000_000,
      rssConnectedBytes: 55_000_000,
      rssPerConnectionBytes: 5000,
    },
    benchCpuPercent: 5,
    errors: 0,
    reconnects: 0,
  };
}

test('median: the middle value, or the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('a row of three rounds: every figure the median, so the one busy round moves nothing; every count the sum', () => {
  const busy = round(9, 90, 9000, 1);
  const row = rowOfRounds([round(2, 5, 4600), busy, round(3, 6, 4400)]);
  assert.equal(row.latencyMs?.p50, 3);
  assert.equal(row.latencyMs?.p99, 6);
  assert.deepEqual(row.latencyMs?.percentiles, [0, 3, 6]);
  assert.equal(row.latencyMs?.samples, 300);
  assert.equal(row.latencyMs?.max, 180, 'the max is the worst of all rounds');
  assert.equal(row.cpuUsPerMessage, 3);
  assert.equal(row.wireBytesPerMessage, 104);
  assert.equal(row.memory?.perConnectionBytes, 4600);
  assert.deepEqual(
    [row.messagesPublished, row.messagesExpected, row.messagesDelivered, row.lost],
    [30, 300, 299, 1],
    'a message lost in one round stays lost',
  );
  assert.deepEqual(
    row.delayByRound,
    { p50Ms: [2, 9, 3], p99Ms: [5, 90, 6] },
    "each round's delay, in round order: how far one round moves from the next",
  );
});

test('a row of one round is that round', () => {
  const only = round(2, 5, 4600);
  assert.equal(rowOfRounds([only]), only);
});

test("the summary shows each round's delay beside the median, for a run of several rounds", () => {
  const row = rowOfRounds([round(2, 5, 4600), round(9, 90, 9000), round(3, 6, 4400)]);
  const peers = { idleClients: 1000, rounds: 3, rows: [row], best: bestPerFamily([row]) };
  const summary = renderPeers({ peers } as unknown as BenchResult) ?? '';
  assert.match(summary, /### Each round's delay/);
  assert.ok(
    summary.includes('| realtime-lab websocket | 3.00 (2.00, 9.00, 3.00) | 6.00 (5.00, 90.0, 6.00) |'),
    summary,
  );
  const single = renderPeers({ peers: { ...peers, rounds: 1, rows: [round(2, 5, 4600)] } } as unknown as BenchResult);
  assert.doesNotMatch(single ?? '', /Each round's delay/, 'one round: nothing to spread');
});
