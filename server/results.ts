/**
 * `/results/`: the latest bench run as its own page (index.html with the charts drawn by
 * chart.js, the PNGs, results.json, summary.md), straight from the folder the bench wrote.
 * The newest local run (`results/latest/`) wins over the committed reference run
 * (`results/reference/`); with neither, a page says how to make one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
/** Where runs are looked for, first found wins. */
export const RESULT_FOLDERS = Object.freeze(['latest', 'reference']);
/** The files a bench run writes: plain names, no path. */
const FILE_NAME = /^[a-z0-9][a-z0-9.-]*\.(css|html|js|json|md|png)$/;

/** The folder of the run to show, or undefined when there is none. */
export function currentRun(resultsDir = RESULTS_DIR): string | undefined {
  return RESULT_FOLDERS.map((name) => join(resultsDir, name)).find((dir) => existsSync(join(dir, 'results.json')));
}

/** Needs @fastify/static registered (for `reply.sendFile`), and pages/results/index.html as the fallback. */
export async function results(app: FastifyInstance, options: { resultsDir?: string } = {}): Promise<void> {
  const serve = (file: string) => async (_request: unknown, reply: import('fastify').FastifyReply) => {
    const dir = currentRun(options.resultsDir);
    reply.header('cache-control', 'no-cache');
    if (!dir)
      return file === 'index.html'
        ? reply.sendFile('results/index.html')
        : reply
            .code(404)
            .send({ statusCode: 404, error: 'Not Found', message: 'no bench run yet: run `npm run bench`' });
    return reply.sendFile(file, dir);
  };
  app.get('/results/', serve('index.html'));
  app.get<{ Params: { file: string } }>('/results/:file', async (request, reply) => {
    const { file } = request.params;
    if (!FILE_NAME.test(file))
      return reply
        .code(404)
        .send({ statusCode: 404, error: 'Not Found', message: `no such results file: ${JSON.stringify(file)}` });
    return serve(file)(request, reply);
  });
}
