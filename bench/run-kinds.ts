/**
 * The kinds of bench run that start servers of their own (--http/--tls, --strategies,
 * --crowd, --peers, --storm) and the flags each owns. Each is a run of its own: it takes
 * none of the flags that set up the techniques' usual runs, and none of another kind's.
 */
import { NETWORK_FLAGS } from './network/options.ts';

/** The flags that set up the techniques' usual runs: where the server is, its feed, the clients, the network between. */
const TECHNIQUE_RUN_FLAGS: readonly string[] = [
  'url',
  'chaos',
  'feed',
  'nodes',
  'browser',
  'client-kinds',
  'intermediary',
  'ws-variants',
  ...Object.keys(NETWORK_FLAGS),
];

/** The flags each run kind on its own servers owns. */
const RUN_KIND_FLAGS = {
  protocols: ['http', 'tls'],
  strategies: ['strategies', 'blocks'],
  crowd: ['crowd', 'crowd-workers'],
  peers: ['peers', 'peer-names', 'idle-clients', 'peer-rounds'],
  storm: ['storm'],
} as const satisfies Record<string, readonly string[]>;

export type RunKind = keyof typeof RUN_KIND_FLAGS;

/** The flags a run of `kind` refuses: the techniques' runs' and every other kind's. */
export function flagsNotWith(kind: RunKind): string[] {
  const others = Object.entries(RUN_KIND_FLAGS).filter(([name]) => name !== kind);
  return [...TECHNIQUE_RUN_FLAGS, ...others.flatMap(([, flags]) => flags)];
}
