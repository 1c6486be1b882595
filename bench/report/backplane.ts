/**
 * What the Redis backplane costs, as a Markdown table (it reads as well in a terminal):
 * for each technique, its delays on the in-memory feed beside the same load on Redis, on
 * the publisher's node and across nodes, and what Redis added; then the publish rate one
 * Redis sustained. Null when no run used Redis.
 */
import type { BenchResult, TechniqueResult } from '../result.ts';
import { count, fixed, ms } from './format.ts';

const pair = (p50: number | null | undefined, p99: number | null | undefined) => `${ms(p50)} / ${ms(p99)}`;
const added = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined
    ? '–'
    : `${a - b >= 0 ? '+' : '−'}${ms(Math.abs(a - b))}`;

export function renderBackplane(result: BenchResult): string | null {
  const redisRuns = result.techniques.filter((r) => r.feed === 'redis');
  if (redisRuns.length === 0 && !result.backplane) return null;
  const lines: string[] = ['## The Redis backplane', ''];
  const nodes = Math.max(1, ...redisRuns.map((r) => r.nodes));
  lines.push(
    nodes > 1
      ? `Delivery delay p50 / p99 in ms, at the same load. On Redis, ${nodes} server nodes share the feed: the publisher posts to the first, subscribers are spread evenly, and those on the other nodes get each message through Redis from another process (cross-node). "Added" compares cross-node delivery with the in-memory feed.`
      : 'Delivery delay p50 / p99 in ms, at the same load, on the in-memory feed and on Redis (one node: every message still goes to Redis and back before it is delivered).',
    '',
  );
  if (redisRuns.length > 0) {
    lines.push(
      "| technique | clients | memory | Redis, publisher's node | Redis, other nodes | added p50 | added p99 |",
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of redisRuns) {
      const memory = result.techniques.find(
        (m: TechniqueResult) => m.feed === 'memory' && m.technique === r.technique && m.clients === r.clients,
      );
      const same = r.latencyByNode ? r.latencyByNode.sameNode : r.latencyMs;
      const other = r.latencyByNode?.otherNodes ?? null;
      const compared = other ?? same;
      lines.push(
        `| ${r.technique} | ${count(r.clients)} | ${memory ? pair(memory.latencyMs?.p50, memory.latencyMs?.p99) : '–'} | ${pair(same?.p50, same?.p99)} | ${other ? pair(other.p50, other.p99) : '–'} | ${added(compared?.p50, memory?.latencyMs?.p50)} | ${added(compared?.p99, memory?.latencyMs?.p99)} |`,
      );
    }
    lines.push('');
  }
  const b = result.backplane;
  if (b) {
    lines.push(
      `**Publish rate one Redis sustained:** ${count(Math.round(b.publishesPerSecond))} messages/s for ${fixed(b.durationMs / 1000)} s (${b.concurrency} publishes in flight, ${b.payloadBytes} B payload), each confirmed by the Lua script and read back by the node; publish p50 ${ms(b.publishLatencyMs?.p50)} ms, p99 ${ms(b.publishLatencyMs?.p99)} ms. ` +
        `The node was at ${fixed(b.nodeCpuPercent, 0)}% of a core${b.redisCpuPercent === null ? '' : `, redis-server at ${fixed(b.redisCpuPercent, 0)}%`}: ${b.redisCpuPercent !== null && b.redisCpuPercent < b.nodeCpuPercent ? 'the one Node process was the limit, not Redis' : 'Redis was the limit'}. No HTTP in this figure; the runs above carry that.`,
      '',
    );
    const c = b.scriptCeiling;
    lines.push(
      c
        ? `**What Redis itself takes:** ${count(Math.round(c.publishesPerSecond))} publishes/s of the same script from ${c.tool} (${c.connections} connections, pipelined ${c.pipeline} deep, ${count(c.requests)} requests, no readers), p50 ${ms(c.p50Ms)} ms, p99 ${ms(c.p99Ms)} ms: the ceiling one Redis puts on the feed here, whatever the nodes.`
        : "**What Redis itself takes:** not measured: redis-benchmark (Debian's redis-tools) is not installed.",
      '',
    );
  }
  return lines.join('\n');
}
