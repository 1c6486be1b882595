/**
 * Server-Sent Events, read by the contract's `text/event-stream` parser on plain
 * `node:http` responses; the model counts the server's own framing, written by the
 * contract's encoder.
 */
import { EventStreamParser, eventStream } from '../../server/contract/formats/event-stream.js';
import { firstMessageLatency, streamLatency } from '../network/model.ts';
import type { BenchDriver } from './driver.ts';
import { httpStreams } from './streams.ts';

/**
 * What the server writes once per stream before any message: the `retry:` line, and the
 * event naming the feed's epoch (none from a server without epochs: `epoch` is '').
 */
const opening = (epoch: string) => eventStream.open() + (epoch ? eventStream.control({ type: 'epoch', epoch }) : '');

/**
 * The `id: E.N\ndata: ` before a message's JSON and the blank line after it. A server
 * without epochs writes a bare `id: N`, without the dot.
 */
const framing = (epoch: string, id: number) => eventStream.message('', epoch, id).length - (epoch ? 0 : '.'.length);

export const driver: BenchDriver = {
  client: "node:http and the contract's text/event-stream parser (not the eventsource package)",
  subscribe(context) {
    return httpStreams(context, { accept: 'text/event-stream', parser: () => new EventStreamParser() });
  },
  predict(input) {
    const { clients, publishedIds, epoch } = input;
    const predictions: ReturnType<BenchDriver['predict']> = [
      { metric: 'httpRequests', predicted: clients, tolerance: 0, model: 'one request per client, for the whole run' },
    ];
    if (publishedIds.length > 0) predictions.push(streamLatency(input));
    if (publishedIds.length > 0) {
      // Nothing else per message: the server sends the stream without chunked encoding.
      predictions.push({
        metric: 'framingBytesPerMessage',
        predicted:
          (opening(epoch).length + publishedIds.reduce((sum, id) => sum + framing(epoch, id), 0)) / publishedIds.length,
        tolerance: 0.05,
        toleranceAbs: 2,
        model:
          'the `id: <epoch>.<id>` and `data:` lines and the blank line per message, and the `retry:` line and the `epoch` event once',
      });
    }
    predictions.push(
      firstMessageLatency(
        input.network,
        2,
        "TCP's handshake (1 round trip), then the request; the stream's opening and the history follow the response headers in the same flight (1)",
      ),
    );
    return predictions;
  },
};
