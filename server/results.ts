/**
 * `/results/`: the latest bench run as its own page (index.html with the charts drawn by
 * chart.js, the PNGs, results.json, summary.md), straight from the folder the bench wrote.
 * The newest local run (`results/latest/`) wins over the committed reference run
 * (`results/reference/`), which the page then says is not the reader's own; with
 * neither, a page says how to make one.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
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

/** The folder of the run committed with the project, shown when the reader has made none. */
const REFERENCE = 'reference';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The sentence that says a shown run is the committed reference, not the reader's: when
 * and on what it ran, from its results.json, and how to make one's own.
 */
export async function referenceNotice(dir: string): Promise<string> {
  let when = 'an unknown date';
  let machine = 'an unknown machine';
  try {
    const { environment: e } = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
    if (typeof e?.startedAt === 'string') when = `${e.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
    if (e?.cpuModel) machine = `${e.cpus} × ${e.cpuModel}, Node ${e.node}`;
  } catch {
    // A results.json without an environment still gets the notice, with less in it.
  }
  return `<p class="reference-note" id="reference-note"><strong>This is the committed reference run</strong> from ${escapeHtml(when)} (${escapeHtml(machine)}), <strong>not yours</strong>: run <code>npm run bench</code> to make your own, which this page will then show.</p>`;
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
    if (file === 'index.html' && basename(dir) === REFERENCE) {
      const page = await readFile(join(dir, file), 'utf8');
      return reply
        .type('text/html; charset=utf-8')
        .send(page.replace(/<body>/, `<body>\n${await referenceNotice(dir)}`));
    }
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
