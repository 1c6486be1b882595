/**
 * The techniques the server serves: each line of the registry (`contract/techniques.js`)
 * with the behaviour its file `transports/<id>.ts` exports as `transport`. Nothing here
 * names a technique: a new one is its file and its registry line.
 */
import { type Technique, techniques } from '../contract/techniques.js';
import { loadTechniqueFiles } from '../technique-files.ts';
import type { Transport, TransportBehaviour } from '../transport.ts';

/**
 * Puts each technique of `registry` together with its file; a registered technique whose
 * file is missing, or exports no `transport`, is an error that says which file to write.
 */
export function loadTransports(registry: readonly Technique[] = techniques): Promise<Transport[]> {
  return loadTechniqueFiles(registry, {
    folder: new URL('./', import.meta.url),
    label: 'server/transports',
    exportName: 'transport',
    what: 'a TransportBehaviour',
    fits: (value): value is TransportBehaviour =>
      typeof (value as TransportBehaviour | undefined)?.register === 'function',
  });
}

/** Every registered technique, in registry order. */
export const transports: readonly Transport[] = Object.freeze(await loadTransports());
