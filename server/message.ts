/**
 * The one message type every technique carries, and the one check every publish goes
 * through (HTTP body or WebSocket frame), so both paths accept exactly the same things.
 */

import { MAX_AUTHOR_CHARS } from './contract/feed.js';
import type { PublishInput } from './contract/feed.js';

// The message and its limits are the contract's (contract/feed.js); the check is the server's.
export type { Message, PublishInput } from './contract/feed.js';
export { MAX_AUTHOR_CHARS, MAX_REF_CHARS } from './contract/feed.js';

export interface PublishLimits {
  /** Longest text in bytes of UTF-8. */
  maxTextBytes: number;
}

const PUBLISH_KEYS = new Set(['author', 'text']);
// Names are one line: no C0/C1 control characters (tab and newline included).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
// What draws nothing: white space, format characters (U+200B-U+200D, U+2060, U+FEFF, ...),
// the other default-ignorables (U+115F and U+3164, the Hangul fillers) and the blank
// Braille pattern. A text or author made only of these shows as an empty line from nobody.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]+$/u;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Checks a decoded publish body without coercing anything: `123` is not a text, an
 * unknown key is an error rather than silently dropped, and a text that is not
 * well-formed Unicode (a lone surrogate) is refused because it could not arrive unchanged
 * over UTF-8. `extraKeys` names keys a caller's envelope may add (the WebSocket `type`).
 */
export function checkPublish(
  body: unknown,
  limits: PublishLimits,
  extraKeys: readonly string[] = [],
): Checked<PublishInput> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'body must be a JSON object like {"author":"ada","text":"hello"}' };
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!PUBLISH_KEYS.has(key) && !extraKeys.includes(key)) {
      return { ok: false, message: `unknown field ${JSON.stringify(key)}: only "author" and "text" are accepted` };
    }
  }
  const { author, text } = record;
  if (typeof author !== 'string') return { ok: false, message: `"author" must be a string, got ${typeName(author)}` };
  if (typeof text !== 'string') return { ok: false, message: `"text" must be a string, got ${typeName(text)}` };

  const authorChars = [...author].length;
  if (authorChars < 1 || authorChars > MAX_AUTHOR_CHARS) {
    return { ok: false, message: `"author" must be 1 to ${MAX_AUTHOR_CHARS} characters, got ${authorChars}` };
  }
  if (CONTROL_CHARS.test(author)) return { ok: false, message: '"author" must not contain control characters' };
  if (!author.isWellFormed()) return { ok: false, message: '"author" is not well-formed Unicode (lone surrogate)' };
  if (INVISIBLE_ONLY.test(author)) return { ok: false, message: invisible('author') };

  if (text.length === 0) return { ok: false, message: '"text" must not be empty' };
  if (!text.isWellFormed()) return { ok: false, message: '"text" is not well-formed Unicode (lone surrogate)' };
  if (INVISIBLE_ONLY.test(text)) return { ok: false, message: invisible('text') };
  const textBytes = Buffer.byteLength(text, 'utf8');
  if (textBytes > limits.maxTextBytes) {
    return { ok: false, message: `"text" is ${textBytes} bytes of UTF-8; the limit is ${limits.maxTextBytes}` };
  }
  return { ok: true, value: { author, text } };
}

function invisible(field: 'author' | 'text'): string {
  return `"${field}" must show something: only spaces or invisible characters (such as U+200B) is refused`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'undefined' ? 'nothing' : typeof value;
}
