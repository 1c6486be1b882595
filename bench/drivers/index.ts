/**
 * The techniques the bench runs: each line of the registry (server/contract/techniques.js)
 * with the driver its file `drivers/<id>.ts` exports as `driver`, the way
 * server/transports/index.ts finds the server's. Nothing here names a technique.
 */
import { type Technique, techniques } from '../../server/contract/techniques.js';
import { loadTechniqueFiles } from '../../server/technique-files.ts';
import type { BenchDriver } from './driver.ts';

/** A registered technique and its bench driver. */
export type BenchTechnique = Readonly<Technique> & BenchDriver;

/**
 * Puts each technique of `registry` together with its driver; a registered technique
 * whose file is missing, or exports no `driver`, is an error that says which file to write.
 */
export function loadDrivers(registry: readonly Technique[] = techniques): Promise<BenchTechnique[]> {
  return loadTechniqueFiles(registry, {
    folder: new URL('./', import.meta.url),
    label: 'bench/drivers',
    exportName: 'driver',
    what: 'a BenchDriver (subscribe and predict)',
    fits: (value): value is BenchDriver => {
      const driver = value as BenchDriver | undefined;
      return typeof driver?.subscribe === 'function' && typeof driver.predict === 'function';
    },
  });
}

/** Every registered technique with its driver, in registry order. */
export const drivers: readonly BenchTechnique[] = Object.freeze(await loadDrivers());
