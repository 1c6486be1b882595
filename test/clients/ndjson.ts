/**
 * The test client of the `ndjson` wire format: `fetch`, its body read as a stream of
 * chunks and split into lines by the contract's parser, as the page does with a
 * ReadableStream reader. fetch does not reconnect by itself, so neither does this client.
 */
import { NdjsonParser } from '../../server/contract/formats/ndjson.js';
import { messageOf } from '../../server/contract/feed.js';
import type { Technique } from '../../server/contract/techniques.js';
import { type ClientOptions, type FeedClient, clientState, endpoint } from './client.ts';
import { labFetch } from '../tls-fetch.ts';

/** Opens the stream of `technique`; resolves once its headers have arrived. */
export async function ndjsonClient(technique: Technique, url: string, options: ClientOptions): Promise<FeedClient> {
  const client = clientState(technique, options);
  const abort = new AbortController();
  const response = await labFetch(endpoint(url, technique, options), { signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`${technique.id} answered ${response.status}`);
  const reader = response.body.getReader();
  const done = (async () => {
    const decoder = new TextDecoder();
    const parser = new NdjsonParser();
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        for (const item of parser.push(decoder.decode(value, { stream: true }))) {
          if (item.kind === 'message') client.take(messageOf(item));
          else client.control(item.event);
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  return {
    ...client,
    reconnects: false,
    close: async () => {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}
