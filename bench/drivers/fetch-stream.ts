/**
 * Streaming over fetch, read by the contract's NDJSON parser on plain `node:http`
 * responses, as the page reads it with a ReadableStream; the model counts the server's
 * own framing, written by the contract's encoder.
 */
import { NdjsonParser, ndjson } from '../../server/contract/formats/ndjson.js';
import { firstMessageLatency, streamLatency } from '../network/model.ts';
import type { BenchDriver } from './driver.ts';
import { httpStreams } from './streams.ts';

/** What the server writes around a message's JSON: its line end. */
const FRAMING_PER_MESSAGE = ndjson.message('').length;
/**
 * What the server writes once per stream before any message: the line naming the feed's
 * epoch (none from a server without epochs: `epoch` is '').
 */
const opening = (epoch: string) => ndjson.open() + (epoch ? ndjson.control({ type: 'epoch', epoch }) : '');

export const driver: BenchDriver = {
  client: "node:http and the contract's NDJSON parser",
  subscribe(context) {
    return httpStreams(context, { accept: 'application/x-ndjson', parser: () => new NdjsonParser() });
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
        predicted: FRAMING_PER_MESSAGE + opening(epoch).length / publishedIds.length,
        tolerance: 0.05,
        toleranceAbs: 2,
        model: 'the line end per message, and the `epoch` line once',
      });
    }
    predictions.push(
      firstMessageLatency(
        input.network,
        2,
        "TCP's handshake (1 round trip), then the request; the stream's `epoch` line and the history follow the response headers in the same flight (1)",
      ),
    );
    return predictions;
  },
};
