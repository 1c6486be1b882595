/**
 * One real test client per wire format, and through them one per registered technique.
 * A technique needs no test client of its own: it is reached with its wire format's, given
 * the technique (and so its path `/api/<id>`). A new wire format without a client here is
 * a type error.
 */
import { type Technique, type WireFormat, techniques } from '../../server/contract/techniques.js';
import type { ClientFactory, WireClient } from './client.ts';
import { eventStreamClient } from './event-stream.ts';
import { ndjsonClient } from './ndjson.ts';
import { pollClient } from './poll.ts';
import { scriptStreamClient } from './script-stream.ts';
import { websocketClient } from './websocket.ts';

export type { ClientFactory, ClientOptions, ClientPosition, FeedClient, WireClient } from './client.ts';

/** The test client of each wire format. */
export const wireClients: Readonly<Record<WireFormat, WireClient>> = Object.freeze({
  poll: pollClient,
  'event-stream': eventStreamClient,
  'script-stream': scriptStreamClient,
  websocket: websocketClient,
  ndjson: ndjsonClient,
});

/** The client factory of `technique`: its wire format's client, pointed at `/api/<id>`. */
export function clientFor(technique: Technique): ClientFactory {
  const open = wireClients[technique.wire];
  return (url, options) => open(technique, url, options);
}

/** A client factory per registered technique, keyed by id. */
export const clients: Readonly<Record<string, ClientFactory>> = Object.freeze(
  Object.fromEntries(techniques.map((technique) => [technique.id, clientFor(technique)])),
);
