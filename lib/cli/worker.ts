/**
 * `trm worker`: runs the training jobs a `trm serve --queue redis://...` puts on the queue,
 * against the same repository directory (shared with the server). SIGTERM or SIGINT
 * checkpoints the running jobs, puts them back on the queue and exits 0.
 */
import { OptionError } from '../errors';
import { redisConnection, startWorker } from '../serve/jobs/redis-queue';
import { Command, intFlag, stringFlag } from './common';

export const workerCommand: Command = {
  usage: `  trm worker --repository DIR --queue redis://host:port [--train-threads N] [--max-jobs N]
                                    run the training jobs of trm serve --queue on this machine`,
  flags: { repository: { type: 'string' }, queue: { type: 'string' }, 'train-threads': { type: 'string' }, 'max-jobs': { type: 'string' } },
  positionals: { min: 0, max: 0, names: '' },
  async run(_positionals, values) {
    const repository = stringFlag(values, 'repository');
    if (repository === undefined) throw new OptionError('worker needs the repository it trains for', { field: '--repository', expected: 'the directory trm serve --repository serves' });
    const queue = stringFlag(values, 'queue');
    if (queue === undefined) throw new OptionError('worker needs a queue', { field: '--queue', expected: 'redis://host:port (as given to trm serve --queue)' });
    redisConnection(queue);
    const worker = startWorker({
      repository, queue, threads: intFlag(values, 'train-threads', 1) ?? 1, maxJobs: intFlag(values, 'max-jobs', 1) ?? 1,
      log: (m) => console.error(`trm worker: ${m}`),
    });
    const stop = (signal: string) => {
      console.error(`trm worker: ${signal}: checkpointing running jobs`);
      worker.close().then(() => process.exit(0), (e: unknown) => {
        console.error(`trm worker: ${(e as Error).message}`);
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    console.error(`trm worker: waiting for jobs on ${queue} (repository ${repository})`);
    await new Promise<never>(() => undefined);
  },
};
