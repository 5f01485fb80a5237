/**
 * `createServer` for the package entry: Fastify, prom-client and TypeBox load on the first
 * call, not whenever a program that only runs models requires trm-node (together they take
 * longer to load than the rest of the package). The require resolves the compiled
 * dist/serve/server.js; code run from the TypeScript sources (vitest) imports
 * lib/serve/server directly, as test/helpers/serve.ts does.
 */
import { BackendError } from '../errors';
import type { ServeApp, ServerOptions } from './server';

export function createServer(options?: ServerOptions): ServeApp {
  let server: typeof import('./server');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    server = require('./server') as typeof import('./server');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !(e as Error).message.includes("'./server'")) throw e;
    throw new BackendError('the server module is not compiled next to the package entry', {
      field: 'createServer', expected: "the built package (npm run build:ts), or, from the TypeScript sources, import { createServer } from 'lib/serve/server'",
    });
  }
  return server.createServer(options);
}
