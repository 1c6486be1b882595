/**
 * The forever iframe, read the way a browser would, minus the browser: the contract's
 * scanner for the `<script>` calls in the never-ending HTML, on plain `node:http`
 * responses; the model counts the server's own framing, written by the contract's encoder.
 */
import { ScriptStreamParser } from '../../server/contract/formats/script-stream.js';
import { streamModel } from '../../server/contract/models.js';
import type { BenchDriver } from './driver.ts';
import { httpStreams } from './streams.ts';

export const driver: BenchDriver = {
  client: "node:http and the contract's scanner for the <script> calls",
  subscribe(context) {
    return httpStreams(context, { accept: 'text/html', parser: () => new ScriptStreamParser() });
  },
  // The contract's stream model for this wire format (framing from the server's own encoder), as the page shows it too.
  predict: (input) => streamModel('script-stream', false, input),
};
