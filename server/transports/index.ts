/**
 * The techniques the server serves: each line of the registry (`contract/techniques.js`)
 * with the behaviour its file `transports/<id>.ts` exports as `transport`. Nothing here
 * names a technique: a new one is its file and its registry line.
 */
import { type Technique, techniques } from '../contract/techniques.js';
import type { Transport, TransportBehaviour } from '../transport.ts';

/**
 * Puts each technique of `registry` together with its file; a registered technique whose
 * file is missing, or exports no `transport`, is an error that says which file to write.
 */
export async function loadTransports(registry: readonly Technique[] = techniques): Promise<Transport[]> {
  return Promise.all(
    registry.map(async (technique) => {
      const file = `./${technique.id}.ts`;
      let module: { transport?: TransportBehaviour };
      try {
        module = await import(file);
      } catch (error) {
        throw new Error(
          `technique "${technique.id}" is registered, but server/transports/${technique.id}.ts could not be loaded: ${(error as Error).message}`,
        );
      }
      if (typeof module.transport?.register !== 'function') {
        throw new Error(`server/transports/${technique.id}.ts must export \`transport\`, a TransportBehaviour`);
      }
      return Object.freeze({ ...technique, ...module.transport });
    }),
  );
}

/** Every registered technique, in registry order. */
export const transports: readonly Transport[] = Object.freeze(await loadTransports());
