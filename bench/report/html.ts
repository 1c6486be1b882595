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

/**
 * A table of its own under an `<h2>`: headings and cells escaped, bold marks (`**`)
 * dropped, the columns from `numericFrom` on aligned as numbers.
 */
function sectionTable(
  title: string,
  { headings, rows }: { headings: string[]; rows: string[][] },
  numericFrom = Number.POSITIVE_INFINITY,
): string {
  const num = (i: number) => (i >= numericFrom ? ' class="num"' : '');
  return `<h2>${escapeHtml(title)}</h2>
<div class="table"><table>
<thead><tr>${headings.map((h, i) => `<th${num(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((row) => `<tr>${row.map((cell, i) => `<td${num(i)}>${escapeHtml(cell.replaceAll('**', ''))}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>
`;
}

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
  const byRoundHtml = byRound ? sectionTable("Each round's delay", byRound, 2) : '';
  const strategies = strategiesTable(result);
  const strategiesHtml = strategies ? sectionTable('Fallback and upgrade strategies', strategies) : '';
  const crowd = crowdTable(result);
  const crowdHtml = crowd
    ? `${sectionTable('Crowd: realtime-lab beside a bare broadcast server', crowd, 1)}<ul>${CROWD_NOTES.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>
`
    : '';
  const storm = stormTable(result);
  const stormHtml = storm ? sectionTable('Reconnect storm', storm) : '';
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
