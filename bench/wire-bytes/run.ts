/**
 * Writes docs/wire-bytes.md's generated part from a fresh capture: run it after changing
 * what any technique writes (`node --import tsx bench/wire-bytes/run.ts`); the doc's test
 * fails until then.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { captureWireBytes } from './capture.ts';
import { BEGIN_MARK, END_MARK, wireBytesMarkdown } from './table.ts';

/** docs/wire-bytes.md. */
export const WIRE_BYTES_DOC = new URL('../../docs/wire-bytes.md', import.meta.url);

/** The doc's generated part as it stands. */
export function generatedPart(doc: string): string {
  const begin = doc.indexOf(BEGIN_MARK);
  const end = doc.indexOf(END_MARK);
  if (begin === -1 || end < begin) throw new Error(`docs/wire-bytes.md has no ${BEGIN_MARK} … ${END_MARK}`);
  return doc.slice(begin + BEGIN_MARK.length, end).trim();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = readFileSync(WIRE_BYTES_DOC, 'utf8');
  const part = wireBytesMarkdown(await captureWireBytes());
  const begin = doc.indexOf(BEGIN_MARK);
  const end = doc.indexOf(END_MARK);
  if (begin === -1 || end < begin) throw new Error(`docs/wire-bytes.md has no ${BEGIN_MARK} … ${END_MARK}`);
  writeFileSync(WIRE_BYTES_DOC, `${doc.slice(0, begin + BEGIN_MARK.length)}\n${part}\n${doc.slice(end)}`);
  console.log('docs/wire-bytes.md: generated part written');
}
