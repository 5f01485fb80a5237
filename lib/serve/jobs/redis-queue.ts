/**
 * Scale-out: with `--queue redis://host:port` the server puts each job's id on a BullMQ
 * queue instead of running it, and `trm worker` processes (sharing the repository directory,
 * and so the store) take them off and run them with the same runner as the server's own
 * scheduler. The store stays the record of every job; Redis only carries "run this id".
 * A worker that dies mid-job loses its BullMQ lock, the job is handed to another worker
 * (or the same one restarted), which resumes it from its checkpoint. A server notices the
 * versions its workers publish and loads them.
 */
import { Queue, Worker } from 'bullmq';
import { OptionError } from '../../errors';
import { ModelRepository } from '../repository';
import { RunningJob, type RunnerSettings } from './runner';
import type { JobRecord } from './store';
import { JobStore } from './store';

export const QUEUE_NAME = 'trm-jobs';
const WATCH_MS = 1000;

export function redisConnection(url: string): { host: string; port: number; maxRetriesPerRequest: null } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OptionError('not a Redis URL', { field: '--queue', value: url, expected: 'redis://host:port' });
  }
  if (parsed.protocol !== 'redis:' || parsed.hostname === '') throw new OptionError('not a Redis URL', { field: '--queue', value: url, expected: 'redis://host:port' });
  // BullMQ's workers block on Redis; retries per request would break their long polls.
  return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port), maxRetriesPerRequest: null };
}

/** The server's side: queue jobs, and load the versions workers publish. */
export class RedisDispatcher {
  private readonly queue: Queue;
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(url: string, private readonly settings: RunnerSettings) {
    this.queue = new Queue(QUEUE_NAME, { connection: redisConnection(url) });
  }

  start(): void {
    for (const job of this.settings.store.listJobs({ status: 'succeeded' })) this.seen.add(job.id);
    this.timer = setInterval(() => this.watch(), WATCH_MS);
    this.timer.unref();
  }

  async submit(job: JobRecord): Promise<void> {
    await this.queue.add('job', { id: job.id }, { jobId: job.id, removeOnComplete: 1000, removeOnFail: 1000 });
  }

  private watch(): void {
    for (const job of this.settings.store.listJobs({ status: 'succeeded', limit: 100 })) {
      if (this.seen.has(job.id)) continue;
      this.seen.add(job.id);
      if (job.result?.version != null) this.settings.repository.load(job.model).catch((e: unknown) => this.settings.log?.(`cannot load ${job.model}: ${(e as Error).message}`));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.queue.close();
  }
}

export interface WorkerOptions {
  repository: string;
  queue: string;
  threads: number;
  maxJobs: number;
  nice?: number;
  log?: (message: string) => void;
}

/** `trm worker`: runs queued jobs until `close` (which checkpoints the running ones and puts them back on the queue). */
export function startWorker(options: WorkerOptions): { close(): Promise<void> } {
  const store = new JobStore(options.repository);
  const repository = new ModelRepository({ root: options.repository });
  const settings: RunnerSettings = { store, repository, root: repository.root!, threads: options.threads, nice: options.nice ?? 10, log: options.log };
  const connection = redisConnection(options.queue);
  const queue = new Queue(QUEUE_NAME, { connection });
  const running = new Set<RunningJob>();
  let closing = false;
  const worker = new Worker(QUEUE_NAME, async (bull) => {
    const id = (bull.data as { id: string }).id;
    // A job handed over from a worker that died is still marked running: this worker resumes it.
    const job = store.claim(id, { resume: true });
    if (!job) return 'not queued';
    const run = new RunningJob(job, settings);
    running.add(run);
    try {
      const end = await run.finished;
      if (end === 'requeued') await queue.add('job', { id }, { jobId: `${id}-${job.attempts}`, removeOnComplete: 1000, removeOnFail: 1000 });
      return end;
    } finally {
      running.delete(run);
    }
  }, { connection, concurrency: options.maxJobs, lockDuration: 15_000, stalledInterval: 5_000 });
  worker.on('error', (e) => options.log?.(`queue error: ${e.message}`));
  return {
    async close() {
      if (closing) return;
      closing = true;
      await Promise.all([...running].map((run) => run.stop()));
      await worker.close();
      await queue.close();
      store.close();
    },
  };
}
