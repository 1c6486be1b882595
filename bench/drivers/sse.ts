/**
 * Server-Sent Events, read by a minimal parser of `text/event-stream` (events end at a
 * blank line; `data:` carries the message JSON; named events are the server's control
 * events; `id:`, `retry:` and comments are skipped).
 */
import type { BenchDriver } from './driver.ts';
import { httpStreams, type StreamItem, type StreamParser } from './streams.ts';

/**
 * What the server writes once per stream before any message: `retry: 2000`, and the
 * event naming the feed's epoch (none from a server without epochs: `epoch` is '').
 */
const opening = (epoch: string) => `retry: 2000\n\n${epoch ? `event: epoch\ndata: {"type":"epoch","epoch":"${epoch}"}\n\n` : ''}`;

class EventStreamParser implements StreamParser {
  #tail = '';

  push(text: string): StreamItem[] {
    const items: StreamItem[] = [];
    const blocks = (this.#tail + text).split('\n\n');
    this.#tail = blocks.pop() ?? '';
    for (const block of blocks) {
      let event = 'message';
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data === undefined) continue;
      items.push(event === 'message' ? { kind: 'message', json: data } : { kind: 'control', event: JSON.parse(data) });
    }
    return items;
  }
}

/** A fresh parser for one stream. */
export function sseParser(): StreamParser {
  return new EventStreamParser();
}

export const sse: BenchDriver = {
  id: 'sse',
  client: 'node:http and a minimal text/event-stream parser (not the eventsource package)',
  subscribe(context) {
    return httpStreams(context, { path: '/api/sse', accept: 'text/event-stream', parser: sseParser });
  },
  predict({ clients, publishedIds, epoch }) {
    const predictions: ReturnType<BenchDriver['predict']> = [
      { metric: 'httpRequests', predicted: clients, tolerance: 0, model: 'one request per client, for the whole run' },
    ];
    if (publishedIds.length > 0) {
      // `id: E.N\ndata: ` before the JSON and a blank line after it; nothing else (the
      // server sends the stream without chunked encoding).
      const perMessage = (id: number) => `id: ${epoch ? `${epoch}.` : ''}${id}\ndata: \n\n`.length;
      predictions.push({
        metric: 'framingBytesPerMessage',
        predicted: (opening(epoch).length + publishedIds.reduce((sum, id) => sum + perMessage(id), 0)) / publishedIds.length,
        tolerance: 0.05,
        toleranceAbs: 2,
        model: 'the `id: <epoch>.<id>` and `data:` lines and the blank line per message, and the `retry:` line and the `epoch` event once',
      });
    }
    return predictions;
  },
};
