/**
 * Just enough Markdown reading for test/docs.test.ts: the tables under a heading row, the
 * anchors GitHub gives headings, and the links. Code (fenced blocks and `spans`) is left
 * out of links and headings, as a renderer would.
 */

/** One table: its header cells and its rows of cells, backticks kept. */
export interface MarkdownTable {
  header: string[];
  rows: string[][];
}

/** Every table in `text`, in order. A cell's `\|` is a literal bar, not a separator. */
export function tables(text: string): MarkdownTable[] {
  const found: MarkdownTable[] = [];
  const lines = withoutFences(text).split('\n');
  for (let i = 0; i + 1 < lines.length; i += 1) {
    if (!isRow(lines[i]) || !/^\|(\s*:?-+:?\s*\|)+\s*$/.test(lines[i + 1] ?? '')) continue;
    const table: MarkdownTable = { header: cells(lines[i] ?? ''), rows: [] };
    for (i += 2; i < lines.length && isRow(lines[i]); i += 1) table.rows.push(cells(lines[i] ?? ''));
    found.push(table);
  }
  return found;
}

/** The one table whose header is exactly `header`; throws when there is none or several. */
export function tableWithHeader(text: string, header: readonly string[]): MarkdownTable {
  const matching = tables(text).filter((table) => table.header.join('|') === header.join('|'));
  if (matching.length !== 1)
    throw new Error(`expected one table headed | ${header.join(' | ')} |, found ${matching.length}`);
  return matching[0] as MarkdownTable;
}

/** The anchors GitHub makes of the headings in `text` (`## The bench` is `#the-bench`). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of withoutFences(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1] ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** GitHub's heading slug: lower case, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The targets of every link and image in `text` outside code, as written. */
export function linkTargets(text: string): string[] {
  const prose = withoutFences(text).replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] ?? '');
}

function withoutFences(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');
}

function isRow(line: string | undefined): boolean {
  return line?.startsWith('|') === true && line.trimEnd().endsWith('|');
}

function cells(line: string): string[] {
  const inner = line.trim().slice(1, -1);
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}
