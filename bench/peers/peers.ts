/**
 * The established libraries the `--peers` run sets beside realtime-lab's techniques: one
 * line per peer, its server program (bench/peers/servers/), the client that measures it
 * (bench/peers/clients/), and the family of techniques it is compared within.
 */
import type { Technique } from '../../server/contract/techniques.js';
import { eventSourceClient } from './clients/better-sse.ts';
import type { PeerClient } from './clients/common.ts';
import { socketIoClient } from './clients/socket-io.ts';
import { sockjsClient } from './clients/sockjs.ts';
import { wsClient } from './clients/ws.ts';
import { PEER_NAMES, type PeerName } from './names.ts';

/** The families a row is compared within: what reaches the browser the same way. */
export type Family = 'websocket' | 'sse' | 'streaming' | 'polling';
export const FAMILIES: readonly Family[] = ['websocket', 'sse', 'streaming', 'polling'];
export const FAMILY_TITLES: Readonly<Record<Family, string>> = {
  websocket: 'WebSocket',
  sse: 'SSE',
  streaming: 'streaming HTTP',
  polling: 'polling (a request held per message)',
};

export interface Peer {
  /** The row's name, and `--peer-names`' word for it. */
  name: PeerName;
  family: Family;
  /** Its server program, from the repository's root. */
  script: string;
  /** Added to the server's environment (the transport of a one-transport server). */
  env: Record<string, string>;
  /** What the server is, in a few words. */
  server: string;
  peerClient: PeerClient;
  /**
   * How long the server keeps a connection's state after its client left, ms: what the
   * memory figure waits for after the idle connections' first round (bench/peers/run.ts).
   */
  keepsClosedMs: number;
}

/** A SockJS server keeps a session this long after its client left (sockjs's `disconnect_delay`, left at its default), ms. */
const SOCKJS_DISCONNECT_DELAY_MS = 5000;
/**
 * A socket.io polling session ends when its client's close packet arrives, a `POST` on a
 * connection of its own (node-XMLHttpRequest asks `Connection: close`): when 2,000
 * clients hang up at once, the server still held ~100 sessions 1.7 s later, and let go of
 * them all ~3.5 s after the hang-up began (its `engine.clientsCount`, read every 250 ms in
 * the long-polling row, 2026-12-03). The baseline read 1 s after the hang-up held 17.5 to
 * 21.9 MB, and 8.8 MB after this wait: the figure per connection came out 7.1 to 9.2 kB,
 * and 13.4 kB after it. Waited out as SockJS's sessions are.
 */
const SOCKET_IO_POLLING_CLOSE_MS = 5000;

const SERVERS = 'bench/peers/servers';

export const PEERS: readonly Peer[] = [
  peer('ws', 'websocket', 'ws.ts', {}, 'ws WebSocketServer, broadcast to each OPEN client', wsClient),
  peer(
    'socket.io-websocket',
    'websocket',
    'socket-io.ts',
    { SOCKET_IO_TRANSPORT: 'websocket' },
    'socket.io Server, transports [websocket], io.emit',
    socketIoClient('websocket'),
  ),
  peer(
    'sockjs-websocket',
    'websocket',
    'sockjs.ts',
    {},
    'sockjs server, conn.write to each',
    sockjsClient('websocket'),
  ),
  peer(
    'nodejs-websocket',
    'websocket',
    'nodejs-websocket.ts',
    {},
    'nodejs-websocket server (its own TCP server), sendText to each',
    wsClient,
  ),
  peer(
    'better-sse',
    'sse',
    'better-sse.ts',
    {},
    'better-sse sessions on one channel, channel.broadcast',
    eventSourceClient,
  ),
  peer('sockjs-eventsource', 'sse', 'sockjs.ts', {}, 'sockjs server, conn.write to each', sockjsClient('eventsource')),
  peer(
    'sockjs-xhr-streaming',
    'streaming',
    'sockjs.ts',
    {},
    'sockjs server, conn.write to each',
    sockjsClient('xhr-streaming'),
  ),
  peer('sockjs-htmlfile', 'streaming', 'sockjs.ts', {}, 'sockjs server, conn.write to each', sockjsClient('htmlfile')),
  peer(
    'socket.io-polling',
    'polling',
    'socket-io.ts',
    { SOCKET_IO_TRANSPORT: 'polling' },
    'socket.io Server, transports [polling], io.emit',
    socketIoClient('polling'),
  ),
  peer(
    'sockjs-xhr-polling',
    'polling',
    'sockjs.ts',
    {},
    'sockjs server, conn.write to each',
    sockjsClient('xhr-polling'),
  ),
];

function peer(
  name: PeerName,
  family: Family,
  script: string,
  env: Record<string, string>,
  server: string,
  peerClient: PeerClient,
): Peer {
  const keepsClosedMs =
    script === 'sockjs.ts'
      ? SOCKJS_DISCONNECT_DELAY_MS
      : env.SOCKET_IO_TRANSPORT === 'polling'
        ? SOCKET_IO_POLLING_CLOSE_MS
        : 0;
  return { name, family, script: `${SERVERS}/${script}`, env, server, peerClient, keepsClosedMs };
}

/**
 * A technique's family, from its capabilities and wire format: one that upgrades is a
 * WebSocket, an event stream is SSE, another stream is streaming HTTP, and a held request
 * per message is polling. Null for one that polls while idle: no peer does that.
 */
export function familyOf(technique: Technique): Family | null {
  if (technique.capabilities.upgrades) return 'websocket';
  if (technique.wire === 'event-stream') return 'sse';
  if (technique.capabilities.streams) return 'streaming';
  if (technique.capabilities.holdsRequest && !technique.capabilities.pollsWhenIdle) return 'polling';
  return null;
}

// Every name of names.ts has its line here, and no line has another name.
if (PEERS.map((p) => p.name).join() !== PEER_NAMES.join())
  throw new Error('bench/peers/peers.ts: its peers must be names.ts PEER_NAMES, in that order');

/** Peers by name (`--peer-names`), in the order given; throws on a name it does not know. */
export function peersNamed(names: readonly string[]): Peer[] {
  return names.map((name) => {
    const found = PEERS.find((p) => p.name === name);
    if (!found) throw new Error(`unknown peer ${JSON.stringify(name)}; known: ${PEERS.map((p) => p.name).join(', ')}`);
    return found;
  });
}
