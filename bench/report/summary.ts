/**
 * `summary.md`: the run in words and tables, for reading in a terminal, a pull request or
 * GitHub, with the charts beside it.
 */
import type { BenchResult } from '../result.ts';
import type { NamedChart } from './charts.ts';
import { count, fixed, mb, ms } from './format.ts';
import { describeConfig, describeEnvironment, feedLabel, runLabel } from './table.ts';
import { renderBackplane } from './backplane.ts';
import { renderIntermediaries } from './intermediaries.ts';
import { renderProtocols } from './protocols.ts';
import { renderStrategies } from './strategies.ts';
import { renderCrowd } from './crowd.ts';
import { renderPeers } from './peers.ts';
import { renderStorm } from './storm.ts';

export function renderSummary(result: BenchResult, charts: NamedChart[]): string {
  const lines: string[] = [];
  const e = result.environment;
  lines.push('# realtime-lab bench results', '');
  lines.push(`${describeConfig(result)}  `, `${describeEnvironment(result)}  `);
  lines.push(
    `Server: ${e.server}. autocannon ${e.autocannon}. Load average at start: ${e.loadAverage.join(', ')}.`,
    '',
  );
  // A --strategies run or a protocol comparison has no autocannon runs: its own section,
  // then the warnings and the charts, is the whole summary.
  if (result.strategies) lines.push(renderStrategies(result));
  if (result.storm) lines.push(renderStorm(result));
  const protocols = renderProtocols(result);
  if (protocols) lines.push(protocols);
  const crowd = renderCrowd(result);
  if (crowd) lines.push(crowd);
  const peers = renderPeers(result);
  if (peers) lines.push(peers);
  if (result.techniques.length === 0) return [...lines, ...warningsAndCharts(result, charts)].join('\n');

  lines.push('## Delivery and cost', '');
  lines.push(
    '| technique | clients | feed | delivered / expected | lost | dup | out of order | HTTP requests | requests / msg | bytes / msg | overhead bytes / msg | kB / client / min | delay mean | p50 | p90 | p99 | max | server CPU | peak RSS |',
  );
  lines.push(
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of result.techniques) {
    const l = r.latencyMs;
    lines.push(
      `| ${runLabel(r)} | ${count(r.clients)} | ${feedLabel(r)} | ${count(r.messagesDelivered)} / ${count(r.messagesExpected)} | ${r.lost} | ${r.duplicates} | ${r.outOfOrder} | ${count(r.httpRequests)} | ${fixed(r.httpRequestsPerMessage, 3)} | ${fixed(r.bytesPerMessage)} | ${fixed(r.overheadBytesPerMessage)} | ${fixed(r.bytesPerClientPerMinute / 1000)} | ${ms(l?.mean)} ms | ${ms(l?.p50)} | ${ms(l?.p90)} | ${ms(l?.p99)} | ${ms(l?.max)} | ${r.server ? `${count(Math.round(r.server.cpuMs))} ms (${fixed(r.server.cpuPercent)}%)` : '–'} | ${r.server ? `${mb(r.server.maxRssBytes)} MB` : '–'} |`,
    );
  }
  lines.push('');

  const probed = result.techniques.filter((r) => r.firstMessageProbesMs !== undefined);
  if (probed.length > 0) {
    lines.push('## Time to first message', '');
    lines.push(
      'After each run, a few fresh clients of the technique connect through the same network from the last id − 1, so one message is already waiting: the time from starting to connect to holding it, which the run itself never shows (it publishes once every subscriber is connected).',
      '',
    );
    lines.push('| technique | median | each probe |');
    lines.push('| --- | ---: | --- |');
    for (const r of probed)
      lines.push(
        `| ${runLabel(r)} | ${ms(r.firstMessageMs)} ms | ${(r.firstMessageProbesMs ?? []).map((p) => (p === null ? 'none' : ms(p))).join(', ')} |`,
      );
    lines.push('');
  }

  const backplane = renderBackplane(result);
  if (backplane) lines.push(backplane);
  const intermediaries = renderIntermediaries(result);
  if (intermediaries) lines.push(intermediaries);

  lines.push('## Bytes on the wire, both directions (subscribers only)', '');
  lines.push('| technique | clients | request headers | response headers | framing | payload | total |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of result.techniques) {
    const b = r.bytes;
    lines.push(
      `| ${runLabel(r)} | ${count(r.clients)} | ${count(b.requestHeaders)} | ${count(b.responseHeaders)} | ${count(b.framing)} | ${count(b.payload)} | ${count(b.total)} |`,
    );
  }
  lines.push('');

  lines.push('## Theory vs measurement', '');
  lines.push(
    'Each technique has a simple model of what it should cost. Where the measurement and the model disagree by more than the tolerance, either the model is too simple for the run (and that is the lesson) or something is wrong.',
    '',
  );
  lines.push('| technique | clients | metric | model | predicted | measured | ratio | verdict |');
  lines.push('| --- | ---: | --- | --- | ---: | ---: | ---: | --- |');
  for (const r of result.techniques) {
    for (const t of r.theory) {
      const tolerance =
        [t.tolerance > 0 ? `±${Math.round(t.tolerance * 100)}%` : '', t.toleranceAbs ? `±${t.toleranceAbs}` : '']
          .filter(Boolean)
          .join(' or ') || 'exact';
      lines.push(
        `| ${runLabel(r)} | ${count(r.clients)} | ${t.metric} | ${t.model} | ${fixed(t.predicted, 2)} | ${fixed(t.measured, 2)} | ${fixed(t.ratio, 3)} | ${t.agrees ? `agrees (${tolerance})` : `**differs** (${tolerance})`} |`,
      );
    }
  }
  lines.push('');

  lines.push('## Clients used', '');
  for (const r of result.techniques.filter((r, i, all) => all.findIndex((o) => o.technique === r.technique) === i)) {
    lines.push(`- **${r.technique}**: ${r.client}`);
  }
  lines.push('- **publisher**: autocannon, `POST /api/messages`, paced evenly at the configured rate', '');

  return [...lines, ...warningsAndCharts(result, charts)].join('\n');
}

function warningsAndCharts(result: BenchResult, charts: NamedChart[]): string[] {
  const lines = ['## Warnings', ''];
  if (result.warnings.length === 0)
    lines.push('None: every message arrived once and in order, the bench was not saturated, and every model held.');
  for (const warning of result.warnings) lines.push(`- ${warning}`);
  lines.push('');

  lines.push('## Charts', '');
  for (const chart of charts)
    lines.push(`### ${chart.name}`, '', chart.caption, '', `![${chart.caption}](${chart.name}.png)`, '');
  return lines;
}
