/**
 * Training and fine-tuning as jobs of the service: a Fastify plugin for `createServer`
 * (`plugins: [jobsPlugin({ trainThreads: 1 })]`) over a repository directory. The store is
 * `DIR/.trm/jobs.db`; jobs run in their own processes, at most `maxJobs` at once (the
 * server's scheduler), or on `trm worker` processes when `queue` names a Redis server.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ConflictError } from '../../errors';
import type { RedisDispatcher } from './redis-queue';
import { jobRoutes } from './routes';
import { LocalScheduler } from './scheduler';
import { JobStore } from './store';

export interface JobsOptions {
  /** Engine threads of each training job (default 1). */
  trainThreads?: number;
  /** Jobs running at once on this server (default 1); the rest wait in order. */
  maxJobs?: number;
  /** Niceness of the training processes (default 10). */
  nice?: number;
  /** redis://host:port: queue jobs on BullMQ for `trm worker` processes instead of running them here. */
  queue?: string;
  /** Bytes of a dataset upload at most (default 64 MiB). */
  datasetBodyLimit?: number;
}

export const DEFAULT_DATASET_BODY_LIMIT = 64 * 1024 * 1024;

export function jobsPlugin(options: JobsOptions = {}): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const repository = app.trm.repository;
    const root = repository.root;
    const store = root === null ? null : new JobStore(root);
    const storeOrThrow = (): JobStore => {
      if (store === null) throw new ConflictError('jobs need a repository to publish into', { field: 'repository', expected: 'a server started with --repository DIR' });
      return store;
    };
    const settings = store && root !== null
      ? { store, repository, root, threads: options.trainThreads ?? 1, nice: options.nice ?? 10, log: (m: string) => app.log.info(m) }
      : null;
    const scheduler = settings && options.queue === undefined ? new LocalScheduler(settings, options.maxJobs ?? 1) : null;
    // BullMQ loads only for a server that queues on Redis.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dispatcher: RedisDispatcher | null = settings && options.queue !== undefined ? new (require('./redis-queue') as typeof import('./redis-queue')).RedisDispatcher(options.queue, settings) : null;

    await app.register(jobRoutes, {
      store: storeOrThrow,
      submitted: async (job) => {
        if (scheduler) scheduler.pump();
        else if (dispatcher) await dispatcher.submit(job);
      },
      datasetBodyLimit: options.datasetBodyLimit ?? DEFAULT_DATASET_BODY_LIMIT,
    });
    app.addHook('onReady', async () => {
      scheduler?.start();
      dispatcher?.start();
    });
    app.addHook('onClose', async () => {
      await scheduler?.close();
      await dispatcher?.close();
      store?.close();
    });
  };
}
