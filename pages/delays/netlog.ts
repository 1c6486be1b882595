/**
 * Chromium's NetLog (`--log-net-log=<file> --net-log-capture-mode=Everything`), read for
 * when its network stack read each message off a socket: the stage between the kernel
 * holding the bytes and the renderer getting them. A NetLog stamps events in whole
 * milliseconds, cut down: a stamp here is the middle of its millisecond, give or take half.
 */
import { readFile } from 'node:fs/promises';
import type { WireFormat } from '../../server/contract/techniques.js';
import { MESSAGE_ID } from './stamps.ts';

/** Flags that make Chromium write its NetLog, with the bytes read, to `path`. */
export function netLogArgs(path: string): string[] {
  return [`--log-net-log=${path}`, '--net-log-capture-mode=Everything'];
}

interface NetLogFile {
  constants: { timeTickOffset: string | number; logEventTypes: Record<string, number> };
  events: { time: string; type: number; params?: { bytes?: string } }[];
}

/**
 * How each wire format's bytes are told apart in a chunk read off a socket: an unmasked
 * text frame of WebSocket starts with 0x81, an event stream has `data: ` lines, the
 * iframe's document `<script>` calls, a polling answer a `"messages"` list, and an NDJSON
 * stream a message's JSON at the start of a line. Asked in this order (a WebSocket frame
 * and a polling answer hold message JSON too); a new wire format without an entry is a
 * type error, so its messages are never silently left unstamped.
 */
const RECOGNISERS: Readonly<Record<WireFormat, (bytes: Buffer, text: string) => boolean>> = {
  'event-stream': (_bytes, text) => text.includes('data: '),
  'script-stream': (_bytes, text) => text.includes('<script>'),
  poll: (_bytes, text) => text.includes('"messages":['),
  websocket: (bytes) => bytes[0] === 0x81,
  ndjson: (_bytes, text) => /(^|\n)\{"id":\d/.test(text),
};

function wireOf(bytes: Buffer): WireFormat | undefined {
  const text = bytes.toString('latin1');
  for (const [wire, recognises] of Object.entries(RECOGNISERS)) if (recognises(bytes, text)) return wire as WireFormat;
  return undefined;
}

/**
 * When the network stack first read each message off a socket, epoch ms, keyed
 * `<wire format> <id>`.
 */
export async function socketReads(path: string): Promise<Map<string, number>> {
  const text = await readFile(path, 'utf8');
  // A browser that did not get to finish the file leaves its event list open.
  const log = JSON.parse(text.trimEnd().endsWith('}') ? text : `${text.replace(/,?\s*$/, '')}]}`) as NetLogFile;
  const received = log.constants.logEventTypes.SOCKET_BYTES_RECEIVED;
  const offset = Number(log.constants.timeTickOffset);
  const reads = new Map<string, number>();
  for (const event of log.events) {
    if (event.type !== received || !event.params?.bytes) continue;
    const bytes = Buffer.from(event.params.bytes, 'base64');
    const wire = wireOf(bytes);
    if (!wire) continue;
    for (const match of bytes.toString('latin1').matchAll(MESSAGE_ID)) {
      const key = `${wire} ${match[1]}`;
      if (!reads.has(key)) reads.set(key, Number(event.time) + offset + 0.5);
    }
  }
  return reads;
}
