/**
 * Streaming over fetch, read by the contract's NDJSON parser on plain `node:http`
 * responses, as the page reads it with a ReadableStream; the model counts the server's
 * own framing, written by the contract's encoder.
 */
import { NdjsonParser } from '../../server/contract/formats/ndjson.js';
import { streamModel } from '../../server/contract/models.js';
import type { BenchDriver } from './driver.ts';
import { httpStreams } from './streams.ts';

export const driver: BenchDriver = {
  client: "node:http and the contract's NDJSON parser",
  subscribe(context) {
    return httpStreams(context, { accept: 'application/x-ndjson', parser: () => new NdjsonParser() });
  },
  // The contract's stream model for this wire format (framing from the server's own encoder), as the page shows it too.
  predict: (input) => streamModel('ndjson', false, input),
};
