/**
 * The trace page at `/`: the static files of `web/` (plain ES modules, no build step) and
 * uPlot's browser build, served from the installed `uplot` package (`/vendor/uplot/`), so
 * nothing is copied by hand and nothing comes from a CDN. Only the files that exist at
 * start get routes (no wildcard): any other path stays the server's JSON 404.
 */
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** web/ at the package root (dist/serve/ -> ../../web, and lib/serve/ -> ../../web under vitest). */
export const PAGE_DIR = path.resolve(__dirname, '..', '..', 'web');
/** The uPlot files the page loads. */
const UPLOT_FILES = new Set(['/uPlot.esm.js', '/uPlot.min.css']);

function uplotDist(): string {
  // `main` is dist/uPlot.cjs.js; the ESM build and the stylesheet sit beside it.
  return path.dirname(require.resolve('uplot'));
}

export async function tracePage(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: PAGE_DIR, prefix: '/', wildcard: false, index: ['index.html'], cacheControl: false });
  await app.register(fastifyStatic, {
    root: uplotDist(), prefix: '/vendor/uplot/', wildcard: false, decorateReply: false,
    allowedPath: (pathName) => UPLOT_FILES.has(pathName),
  });
}
