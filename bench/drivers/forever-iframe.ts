/**
 * The forever iframe, read the way a browser would, minus the browser: the contract's
 * scanner for the `<script>` calls in the never-ending HTML, on plain `node:http`
 * responses; the model counts the server's own framing, written by the contract's encoder.
 */
import { IFRAME_MAX_BYTES } from '../../server/contract/defaults.js';
import { ScriptStreamParser, scriptStream } from '../../server/contract/formats/script-stream.js';
import { firstMessageLatency, streamLatency } from '../network/model.ts';
import type { BenchDriver } from './driver.ts';
import { httpStreams } from './streams.ts';

/** What the server writes around a message's JSON: `<script>m(` … `)</script>\n`. */
const FRAMING_PER_MESSAGE = scriptStream.message('').length;
/**
 * The page the server writes once per stream before any message, and the event naming
 * the feed's epoch (none from a server without epochs: `epoch` is '').
 */
const opening = (epoch: string) => scriptStream.open() + (epoch ? scriptStream.control({ type: 'epoch', epoch }) : '');

export const driver: BenchDriver = {
  client: "node:http and the contract's scanner for the <script> calls",
  subscribe(context) {
    return httpStreams(context, { accept: 'text/html', parser: () => new ScriptStreamParser() });
  },
  predict(input) {
    const { clients, publishedIds, payloadBytesPerMessage, epoch } = input;
    const streamBytes = publishedIds.length * (payloadBytesPerMessage + FRAMING_PER_MESSAGE);
    const predictions: ReturnType<BenchDriver['predict']> = [
      {
        metric: 'httpRequests',
        // Past the server's default byte limit the document ends and the client reopens.
        predicted: clients * (1 + Math.floor(streamBytes / IFRAME_MAX_BYTES)),
        tolerance: 0,
        toleranceAbs: clients,
        model: `one request per client, plus one reopening per ${IFRAME_MAX_BYTES / 1024} KiB of stream`,
      },
    ];
    if (publishedIds.length > 0) predictions.push(streamLatency(input));
    if (publishedIds.length > 0) {
      predictions.push({
        metric: 'framingBytesPerMessage',
        predicted: FRAMING_PER_MESSAGE + opening(epoch).length / publishedIds.length,
        tolerance: 0.05,
        toleranceAbs: 2,
        model:
          'the `<script>m(` … `)</script>` around the JSON per message, and the opening page with its `epoch` event once',
      });
    }
    predictions.push(
      firstMessageLatency(
        input.network,
        2,
        "TCP's handshake (1 round trip), then the request; the document's opening and the history follow the response headers in the same flight (1)",
      ),
    );
    return predictions;
  },
};
