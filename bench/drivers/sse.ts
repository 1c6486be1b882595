/**
 * Server-Sent Events, read by the contract's `text/event-stream` parser on plain
 * `node:http` responses; the model counts the server's own framing, written by the
 * contract's encoder.
 */
import { EventStreamParser } from '../../server/contract/formats/event-stream.js';
import { streamModel } from '../../server/contract/models.js';
import type { BenchDriver } from './driver.ts';
import { httpStreams } from './streams.ts';

export const driver: BenchDriver = {
  client: "node:http and the contract's text/event-stream parser (not the eventsource package)",
  subscribe(context) {
    return httpStreams(context, { accept: 'text/event-stream', parser: () => new EventStreamParser() });
  },
  // The contract's stream model for this wire format (framing from the server's own encoder), as the page shows it too.
  predict: (input) => streamModel('event-stream', false, input),
};
