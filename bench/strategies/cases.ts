/**
 * `--strategies` and `--blocks`: which auto-client strategies the bench runs, under which
 * block sets (what the network refuses or buffers for each client), every strategy under
 * every set. The default sets are read from the registry's capabilities, as the auto
 * client's own order is: nothing blocked; the upgrading technique refused; and that with
 * every other stream the client would try buffered, or refused, which leaves what holds a
 * request without streaming (docs/fallback.md).
 */
import { STRATEGIES, canRunBesidePanels } from '../../server/contract/strategies.js';
import { techniqueById, techniques, withCapabilities } from '../../server/contract/techniques.js';

/** What a block does to a technique: the server's block switches (server/blocks.ts). */
export type BlockMode = 'refuse' | 'buffer';
/** One block set: technique id → mode; empty blocks nothing. */
export type BlockSet = Readonly<Record<string, BlockMode>>;

export interface StrategyCase {
  strategy: Strategy;
  blocks: BlockSet;
}

/** The auto client's strategies, from the contract its page runs (server/contract/strategies.js). */
export { STRATEGIES };
export type Strategy = (typeof STRATEGIES)[number];

/** Block sets on the command line: `none`, or `ID=MODE` joined by `+`, sets separated by commas. */
export function blockSetLabel(blocks: BlockSet): string {
  const entries = Object.entries(blocks);
  return entries.length === 0 ? 'none' : entries.map(([id, mode]) => `${id}=${mode}`).join('+');
}

/** `fallback, websocket=refuse`: a case as the table and the charts name it. */
export function caseLabel(c: StrategyCase): string {
  return `${c.strategy}, ${blockSetLabel(c.blocks)}`;
}

/**
 * The default block sets, from capabilities: none; what upgrades refused; and with it every
 * other stream the client tries buffered (a buffering proxy), then refused (a proxy that
 * answers them with an error).
 */
export function defaultBlockSets(): BlockSet[] {
  const upgrading = withCapabilities({ upgrades: true });
  const streams = withCapabilities({ streams: true, upgrades: false }).filter(
    (t) => t.capabilities.holdsRequest && canRunBesidePanels(t),
  );
  const refused = Object.fromEntries(upgrading.map((t) => [t.id, 'refuse' as const]));
  const streamsAre = (mode: BlockMode) => Object.fromEntries(streams.map((t) => [t.id, mode]));
  return [{}, refused, { ...refused, ...streamsAre('buffer') }, { ...refused, ...streamsAre('refuse') }];
}

/** Parses `--strategies` (a comma-separated list, or `all`); throws an Error naming what is allowed. */
export function parseStrategies(raw: string): Strategy[] {
  if (raw === 'all') return [...STRATEGIES];
  const names = raw.split(',').map((s) => s.trim());
  for (const name of names)
    if (!(STRATEGIES as readonly string[]).includes(name))
      throw new Error(`unknown strategy ${JSON.stringify(name)}; the strategies are ${STRATEGIES.join(', ')}`);
  if (new Set(names).size !== names.length) throw new Error('a strategy is listed twice');
  return names as Strategy[];
}

/** Parses `--blocks`: `none,websocket=refuse,websocket=refuse+sse=buffer`; throws an Error saying why not. */
export function parseBlockSets(raw: string): BlockSet[] {
  const sets = raw.split(',').map((s) => s.trim());
  const parsed = sets.map(parseBlockSet);
  const labels = parsed.map(blockSetLabel);
  if (new Set(labels).size !== labels.length) throw new Error('a block set is listed twice');
  return parsed;
}

function parseBlockSet(raw: string): BlockSet {
  if (raw === 'none') return {};
  const blocks: Record<string, BlockMode> = {};
  for (const entry of raw.split('+')) {
    const [id = '', mode = ''] = entry.split('=');
    const technique = techniqueById(id);
    if (!technique)
      throw new Error(
        `${JSON.stringify(entry)}: no technique ${JSON.stringify(id)}; the techniques are ${techniques.map((t) => t.id).join(', ')}`,
      );
    if (mode !== 'refuse' && mode !== 'buffer')
      throw new Error(`${JSON.stringify(entry)}: a block is ID=refuse or ID=buffer`);
    if (mode === 'buffer' && !technique.capabilities.holdsRequest)
      throw new Error(
        `${JSON.stringify(entry)}: ${id} holds no request, so nothing can be buffered; it can be refused`,
      );
    if (id in blocks) throw new Error(`${JSON.stringify(raw)}: ${id} is blocked twice`);
    blocks[id] = mode;
  }
  return blocks;
}

/** Every strategy under every block set, strategies outermost. */
export function casesOf(strategies: readonly Strategy[], blockSets: readonly BlockSet[]): StrategyCase[] {
  return strategies.flatMap((strategy) => blockSets.map((blocks) => ({ strategy, blocks })));
}
