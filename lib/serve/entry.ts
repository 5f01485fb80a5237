/**
 * `createServer` for the package entry: Fastify, prom-client and TypeBox load on the first
 * call, not when a program that only runs models requires trm-node (they add ~300 ms).
 */
import type { ServeApp, ServerOptions } from './server';

export function createServer(options?: ServerOptions): ServeApp {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./server') as typeof import('./server')).createServer(options);
}
