/**
 * The techniques the bench runs: each line of the registry (server/contract/techniques.js)
 * with the driver its file `drivers/<id>.ts` exports as `driver`, the way
 * server/transports/index.ts finds the server's. Nothing here names a technique.
 */
import { type Technique, techniques } from '../../server/contract/techniques.js';
import type { BenchDriver } from './driver.ts';

/** A registered technique and its bench driver. */
export type BenchTechnique = Readonly<Technique> & BenchDriver;

/**
 * Puts each technique of `registry` together with its driver; a registered technique
 * whose file is missing, or exports no `driver`, is an error that says which file to write.
 */
export async function loadDrivers(registry: readonly Technique[] = techniques): Promise<BenchTechnique[]> {
  return Promise.all(
    registry.map(async (technique) => {
      const file = `./${technique.id}.ts`;
      let module: { driver?: BenchDriver };
      try {
        module = await import(file);
      } catch (error) {
        throw new Error(
          `technique "${technique.id}" is registered, but bench/drivers/${technique.id}.ts could not be loaded: ${(error as Error).message}`,
        );
      }
      const driver = module.driver;
      if (typeof driver?.subscribe !== 'function' || typeof driver.predict !== 'function') {
        throw new Error(
          `bench/drivers/${technique.id}.ts must export \`driver\`, a BenchDriver (subscribe and predict)`,
        );
      }
      // The registry's line last: a driver cannot rename its technique.
      return Object.freeze({ ...driver, ...technique });
    }),
  );
}

/** Every registered technique with its driver, in registry order. */
export const drivers: readonly BenchTechnique[] = Object.freeze(await loadDrivers());
