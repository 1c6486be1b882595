/**
 * `index.html`: the run as a page. The same chart.js configurations as the PNGs, drawn
 * by chart.js in the browser (a local copy beside the page, no CDN), the table, the
 * warnings and the configuration. It works opened from disk and served at `/results/`.
 */
import type { BenchResult } from '../result.ts';
import type { NamedChart } from './charts.ts';
import { columnsFor, describeConfig, describeEnvironment } from './table.ts';
import { PROTOCOL_NOTES, protocolTable } from './protocols.ts';
import { strategiesTable } from './strategies.ts';
import { CROWD_NOTES, crowdTable } from './crowd.ts';
import { peersNotes, peersRoundsTable, peersTable } from './peers.ts';
import { stormTable } from './storm.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element: no `<` can close it or open a comment. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function renderHtml(result: BenchResult, charts: NamedChart[]): string {
  const COLUMNS = columnsFor(result);
  let rows = result.techniques
    .map(
      (r) =>
        `<tr>${COLUMNS.map((c) => `<td${c.align === 'right' ? ' class="num"' : ''}>${escapeHtml(c.cell(r))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  let headings = COLUMNS.map((c) => c.heading ?? c.title);
  let numeric = COLUMNS.map((c) => c.align === 'right');
  // A protocol comparison (--http, --tls) has its own table instead of the autocannon runs'.
  const protocols = protocolTable(result);
  if (protocols && result.techniques.length === 0) {
    headings = protocols.headings;
    numeric = protocols.headings.map((_, i) => i > 1);
    rows = protocols.rows
      .map(
        (row) =>
          `<tr>${row.map((cell, i) => `<td${i > 1 ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`,
      )
      .join('\n');
  }
  // So has a --peers run, realtime-lab's techniques and the libraries side by side.
  const peers = peersTable(result);
  if (peers && result.techniques.length === 0) {
    headings = peers.headings;
    numeric = peers.headings.map((_, i) => i > 1);
    rows = peers.rows
      .map(
        (row) =>
          `<tr>${row.map((cell, i) => (cell.startsWith('**') ? `<td class="num"><strong>${escapeHtml(cell.replaceAll('**', ''))}</strong></td>` : `<td${i > 1 ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`)).join('')}</tr>`,
      )
      .join('\n');
  }
  // A --strategies run has no technique runs (nor protocols): no empty table for them.
  const techniqueTable =
    result.techniques.length === 0 && !protocols && !peers
      ? ''
      : `<p class="scroll-hint" hidden>The table is wider than the window: scroll it sideways for the columns on the right (the first stays in place).</p>
<div class="table"><table>
<thead><tr>${headings.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
${protocols ? `<ul>${PROTOCOL_NOTES.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>` : ''}${
  peers
    ? `<ul>${peersNotes(result)
        .map((note) => `<li>${escapeHtml(note)}</li>`)
        .join('')}</ul>`
    : ''
}`;
  const byRound = peersRoundsTable(result);
  const byRoundHtml = byRound
    ? `<h2>Each round's delay</h2>
<div class="table"><table>
<thead><tr>${byRound.headings.map((h, i) => `<th${i > 1 ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${byRound.rows.map((row) => `<tr>${row.map((cell, i) => `<td${i > 1 ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>
`
    : '';
  const strategies = strategiesTable(result);
  const strategiesHtml = strategies
    ? `<h2>Fallback and upgrade strategies</h2>
<div class="table"><table>
<thead><tr>${strategies.headings.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${strategies.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell.replaceAll('**', ''))}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>
`
    : '';
  const crowd = crowdTable(result);
  const crowdHtml = crowd
    ? `<h2>Crowd: realtime-lab beside a bare broadcast server</h2>
<div class="table"><table>
<thead><tr>${crowd.headings.map((h, i) => `<th${i > 0 ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${crowd.rows.map((row) => `<tr>${row.map((cell, i) => `<td${i > 0 ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>
<ul>${CROWD_NOTES.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>
`
    : '';
  const storm = stormTable(result);
  const stormHtml = storm
    ? `<h2>Reconnect storm</h2>
<div class="table"><table>
<thead><tr>${storm.headings.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${storm.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell.replaceAll('**', ''))}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>
`
    : '';
  const warnings = result.warnings.length
    ? `<ul class="warnings">${result.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`
    : '<p>No warnings: every message arrived once and in order, the bench was not saturated, and every model held.</p>';
  const figures = charts
    .map(
      (chart) => `<figure>
  <canvas data-chart="${escapeHtml(chart.name)}" role="img" aria-label="${escapeHtml(chart.caption)}"></canvas>
  <figcaption>${escapeHtml(chart.caption)} <a href="${escapeHtml(chart.name)}.png">PNG</a></figcaption>
</figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>realtime-lab bench: ${escapeHtml(describeConfig(result))}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="results.css">
</head>
<body>
<h1>realtime-lab bench results</h1>
<p class="meta">${escapeHtml(describeConfig(result))}<br>${escapeHtml(describeEnvironment(result))}<br>Server: ${escapeHtml(result.environment.server)}. Raw figures: <a href="results.json">results.json</a>, <a href="summary.md">summary.md</a>.</p>
${strategiesHtml}${crowdHtml}${stormHtml}${techniqueTable}${byRoundHtml}
<h2>Warnings</h2>
${warnings}
${figures}
<script type="application/json" id="charts">${scriptJson(charts)}</script>
<script src="chart.umd.js"></script>
<script src="view.js"></script>
</body>
</html>
`;
}
