/**
 * Which row of each family is best at each figure (the lowest value), so that the table
 * can mark it and results.json can say it: realtime-lab is behind where the best is a peer.
 */
import { FAMILIES, type Family } from './peers.ts';
import type { PeerRowResult } from './run.ts';

/** The figures compared, lower is better for each. */
export const COMPARED = {
  wireBytesPerMessage: (r: PeerRowResult) => r.wireBytesPerMessage,
  delayP50Ms: (r: PeerRowResult) => r.latencyMs?.p50 ?? null,
  delayP99Ms: (r: PeerRowResult) => r.latencyMs?.p99 ?? null,
  memoryPerConnectionBytes: (r: PeerRowResult) => r.memory?.perConnectionBytes ?? null,
  cpuUsPerMessage: (r: PeerRowResult) => r.cpuUsPerMessage,
} as const;
export type ComparedFigure = keyof typeof COMPARED;

/** Per family, per figure: the names of the rows with the lowest value (several on a tie), none without values. */
export type BestPerFamily = Partial<Record<Family, Record<ComparedFigure, string[]>>>;

export function bestPerFamily(rows: readonly PeerRowResult[]): BestPerFamily {
  const best: BestPerFamily = {};
  for (const family of FAMILIES) {
    const members = rows.filter((r) => r.family === family);
    if (members.length === 0) continue;
    const figures = {} as Record<ComparedFigure, string[]>;
    for (const [figure, value] of Object.entries(COMPARED) as [ComparedFigure, (r: PeerRowResult) => number | null][]) {
      const values = members.map((r) => ({ name: r.name, value: value(r) }));
      const known = values.filter((v): v is { name: string; value: number } => v.value !== null);
      const lowest = Math.min(...known.map((v) => v.value));
      figures[figure] = known.filter((v) => v.value === lowest).map((v) => v.name);
    }
    best[family] = figures;
  }
  return best;
}
