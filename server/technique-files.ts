/**
 * How each part of the lab finds a registered technique's code: the file `<id>.ts` in its
 * folder, exporting one named value, joined with the technique's registry line. The
 * server finds its transports this way, and the bench its drivers.
 */
import { extname } from 'node:path';
import type { Technique } from './contract/techniques.js';

/**
 * `.ts` as the sources run (`--import tsx`), `.js` once compiled (bench/compiled.ts): the
 * technique files are compiled with this one.
 */
const CODE_EXTENSION = extname(new URL(import.meta.url).pathname);

export interface TechniqueFileKind<T> {
  /** The folder, as a URL ending in `/` (e.g. `new URL('./', import.meta.url)`). */
  folder: URL;
  /** The folder as people name it, for errors: `server/transports`. */
  label: string;
  /** The export each file must have: `transport`. */
  exportName: string;
  /** What that export is, for errors: `a TransportBehaviour`. */
  what: string;
  /** Whether a file's export is one. */
  fits(value: unknown): value is T;
}

/**
 * Each technique of `registry` with its file's export, in registry order; a registered
 * technique whose file is missing, or exports no fitting value, is an error that says
 * which file to write. The registry's line is spread last: a file cannot rename its technique.
 */
export async function loadTechniqueFiles<T extends object>(
  registry: readonly Technique[],
  kind: TechniqueFileKind<T>,
): Promise<(Readonly<Technique> & T)[]> {
  return Promise.all(
    registry.map(async (technique) => {
      const file = `${kind.label}/${technique.id}${CODE_EXTENSION}`;
      let module: Record<string, unknown>;
      try {
        module = await import(new URL(`./${technique.id}${CODE_EXTENSION}`, kind.folder).href);
      } catch (error) {
        throw new Error(
          `technique "${technique.id}" is registered, but ${file} could not be loaded: ${(error as Error).message}`,
        );
      }
      const value = module[kind.exportName];
      if (!kind.fits(value)) throw new Error(`${file} must export \`${kind.exportName}\`, ${kind.what}`);
      return Object.freeze({ ...value, ...technique });
    }),
  );
}
