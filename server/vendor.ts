/**
 * The third-party modules the pages load, served from node_modules: @msgpack/msgpack's ESM
 * build at /vendor/msgpack/, and /contract/msgpack.js, the contract's one import of it, as
 * a browser can load it.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where the pages load @msgpack/msgpack from: its ESM build, as published. */
export const MSGPACK_PREFIX = '/vendor/msgpack/';

const MSGPACK_ESM_DIR = fileURLToPath(new URL('dist.esm/', import.meta.resolve('@msgpack/msgpack/package.json')));

/**
 * The browser's /contract/msgpack.js. On disk the contract imports the package by name,
 * which Node resolves and a browser cannot (it would need an import map, an inline script
 * the pages' CSP forbids): this re-export of the same names is served in its place.
 */
const BROWSER_CONTRACT_MSGPACK = `export { decode, encode } from '${MSGPACK_PREFIX}index.mjs';\n`;

/** Serves @msgpack/msgpack to the pages; registered before the /contract/ mount it overrides one file of. */
export async function vendor(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: MSGPACK_ESM_DIR, prefix: MSGPACK_PREFIX, decorateReply: false });
  app.get('/contract/msgpack.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(BROWSER_CONTRACT_MSGPACK),
  );
}
