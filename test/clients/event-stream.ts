/**
 * The test client of the `event-stream` wire format: the `eventsource` package, which
 * parses the stream and reconnects by itself with Last-Event-ID, as a browser does.
 */
import { EventSource } from 'eventsource';
import { CONTROL_TYPES, type ControlEvent, type Message } from '../../server/contract/feed.js';
import type { Technique } from '../../server/contract/techniques.js';
import { type ClientOptions, type FeedClient, clientState, endpoint } from './client.ts';
import { labFetch } from '../tls-fetch.ts';

/** Opens an EventSource on `technique`; resolves once the stream is open. */
export async function eventStreamClient(
  technique: Technique,
  url: string,
  options: ClientOptions,
): Promise<FeedClient> {
  const client = clientState(technique, options);
  const headers: Record<string, string> = {};
  if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
  let first = true;
  const source = new EventSource(endpoint(url, technique, options), {
    // Only the first request carries our header; reconnects carry EventSource's own.
    fetch: (input, init) => {
      const merged = first ? { ...init, headers: { ...init?.headers, ...headers } } : init;
      first = false;
      return labFetch(input, merged);
    },
  });
  source.addEventListener('message', (event) => client.take(JSON.parse(event.data) as Message));
  for (const type of CONTROL_TYPES) {
    source.addEventListener(type, (event) => client.control(JSON.parse(event.data) as ControlEvent));
  }
  await new Promise<void>((resolve, reject) => {
    source.addEventListener('open', () => resolve(), { once: true });
    source.addEventListener(
      'error',
      (event) => reject(new Error(`${technique.id} failed to open: ${event.message ?? 'error'}`)),
      { once: true },
    );
  });
  return { ...client, reconnects: true, close: async () => source.close() };
}
