/**
 * Writes docs/wire-bytes.md's generated part from a fresh capture: run it after changing
 * what any technique writes (`node --import tsx bench/wire-bytes/run.ts`); the doc's test
 * fails until then. `--chromium` also writes Chromium's requests, `--http2` the polls over
 * HTTP/2: parts no test checks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { captureWireBytes } from './capture.ts';
import { captureChromiumRequests } from './chromium.ts';
import { captureHttp2Polls } from './http2.ts';
import {
  BEGIN_MARK,
  CHROMIUM_BEGIN_MARK,
  CHROMIUM_END_MARK,
  END_MARK,
  HTTP2_BEGIN_MARK,
  HTTP2_END_MARK,
  chromiumMarkdown,
  http2Markdown,
  wireBytesMarkdown,
} from './table.ts';

/** docs/wire-bytes.md. */
export const WIRE_BYTES_DOC = new URL('../../docs/wire-bytes.md', import.meta.url);

/** The part of `doc` between `begin` and `end`, trimmed. */
export function generatedPart(doc: string, begin = BEGIN_MARK, end = END_MARK): string {
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from === -1 || to < from) throw new Error(`docs/wire-bytes.md has no ${begin} … ${end}`);
  return doc.slice(from + begin.length, to).trim();
}

/** `doc` with the part between `begin` and `end` replaced by `part`. */
function replaced(doc: string, begin: string, end: string, part: string): string {
  generatedPart(doc, begin, end);
  return `${doc.slice(0, doc.indexOf(begin) + begin.length)}\n${part}\n${doc.slice(doc.indexOf(end))}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let doc = readFileSync(WIRE_BYTES_DOC, 'utf8');
  const captured = await captureWireBytes();
  doc = replaced(doc, BEGIN_MARK, END_MARK, wireBytesMarkdown(captured));
  // Chromium's requests change with its version: written when asked, checked by no test.
  if (process.argv.includes('--chromium')) {
    doc = replaced(
      doc,
      CHROMIUM_BEGIN_MARK,
      CHROMIUM_END_MARK,
      chromiumMarkdown(await captureChromiumRequests(), captured),
    );
  }
  // HTTP/2's bytes vary by a byte or two from one second to the next (HPACK's Huffman code
  // of the date): written when asked, checked by no test.
  if (process.argv.includes('--http2')) {
    doc = replaced(doc, HTTP2_BEGIN_MARK, HTTP2_END_MARK, http2Markdown(await captureHttp2Polls()));
  }
  writeFileSync(WIRE_BYTES_DOC, doc);
  console.log('docs/wire-bytes.md: generated part written');
}
