/**
 * The forever iframe, read the way a browser would, minus the browser: a minimal scanner
 * for the `<script>m(…)</script>` calls (a message) and `<script>c(…)</script>` calls (a
 * control event) in the never-ending HTML. The argument is JSON with `<`, `>`, `&`,
 * U+2028 and U+2029 escaped, which `JSON.parse` reads back.
 */
import type { BenchDriver } from './driver.ts';
import { httpStreams, type StreamItem, type StreamParser } from './streams.ts';

/** What the server writes around a message's JSON (server/transports/forever-iframe.ts). */
const BEFORE = '<script>m(';
const AFTER = ')</script>\n';
/** The server's default IFRAME_MAX_BYTES: past it the response ends and the client reopens. */
const IFRAME_MAX_BYTES = 256 * 1024;
/**
 * The page the server writes once per stream before any message, and the event naming
 * the feed's epoch (none from a server without epochs: `epoch` is '').
 */
const opening = (epoch: string) =>
  '<!doctype html><html><head><meta charset="utf-8"><title>forever iframe</title></head><body>\n' +
  '<script>var m = parent.onFeedMessage, c = parent.onFeedEvent;</script>\n' +
  (epoch ? `<script>c({"type":"epoch","epoch":"${epoch}"})</script>\n` : '');

class ScriptCallParser implements StreamParser {
  #tail = '';

  push(text: string): StreamItem[] {
    const items: StreamItem[] = [];
    const calls = /<script>([mc])\((.*?)\)<\/script>\n/g;
    const buffer = this.#tail + text;
    let consumed = 0;
    for (let match = calls.exec(buffer); match; match = calls.exec(buffer)) {
      consumed = calls.lastIndex;
      const argument = match[2] ?? '';
      if (match[1] === 'm') {
        // The escapes only change how the JSON is spelled; the payload is the JSON itself.
        items.push({ kind: 'message', json: JSON.stringify(JSON.parse(argument)) });
      } else {
        items.push({ kind: 'control', event: JSON.parse(argument) });
      }
    }
    this.#tail = buffer.slice(consumed);
    return items;
  }
}

/** A fresh scanner for one stream. */
export function scriptCallParser(): StreamParser {
  return new ScriptCallParser();
}

export const foreverIframe: BenchDriver = {
  id: 'forever-iframe',
  client: 'node:http and a scanner for the <script> calls',
  subscribe(context) {
    return httpStreams(context, { path: '/api/forever-iframe', accept: 'text/html', parser: scriptCallParser });
  },
  predict({ clients, publishedIds, payloadBytesPerMessage, epoch }) {
    const perMessage = BEFORE.length + AFTER.length;
    const streamBytes = publishedIds.length * (payloadBytesPerMessage + perMessage);
    const predictions: ReturnType<BenchDriver['predict']> = [
      {
        metric: 'httpRequests',
        predicted: clients * (1 + Math.floor(streamBytes / IFRAME_MAX_BYTES)),
        tolerance: 0,
        toleranceAbs: clients,
        model: 'one request per client, plus one reopening per 256 KiB of stream',
      },
    ];
    if (publishedIds.length > 0) {
      predictions.push({
        metric: 'framingBytesPerMessage',
        predicted: perMessage + opening(epoch).length / publishedIds.length,
        tolerance: 0.05,
        toleranceAbs: 2,
        model: 'the `<script>m(` … `)</script>` around the JSON per message, and the opening page with its `epoch` event once',
      });
    }
    return predictions;
  },
};
