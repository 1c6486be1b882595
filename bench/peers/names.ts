/**
 * The peers' names, alone, so that the command line (bench/options.ts) can list and check
 * them without loading every library's client; bench/peers/peers.ts gives each its
 * server and client, and must name exactly these (a type error otherwise).
 */
export const PEER_NAMES = [
  'ws',
  'socket.io-websocket',
  'sockjs-websocket',
  'nodejs-websocket',
  'better-sse',
  'sockjs-eventsource',
  'sockjs-xhr-streaming',
  'sockjs-htmlfile',
  'socket.io-polling',
  'sockjs-xhr-polling',
] as const;

export type PeerName = (typeof PEER_NAMES)[number];

/** What `--peers` asks for: which peers, and how many idle connections the memory figure holds. */
export interface PeersSelection {
  names: PeerName[];
  idleClients: number;
  /** Rounds of every row, interleaved; each figure is the median of its rounds. */
  rounds: number;
}
