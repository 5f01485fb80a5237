/**
 * `jobsPlugin` for the package entry: the job store (better-sqlite3) and the routes load on
 * the first call, not when a program that only runs models requires trm-node.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { JobsOptions } from './plugin';

export function jobsPlugin(options?: JobsOptions): FastifyPluginAsync {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./plugin') as typeof import('./plugin')).jobsPlugin(options);
}
export type { JobsOptions };
