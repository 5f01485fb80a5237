/**
 * The server's own job queue: the store's queued jobs, oldest first, at most `maxJobs`
 * running at once. At start, jobs the previous server left running (it died, or was
 * stopped) go back to the queue in their places and resume from their checkpoints. On close,
 * running jobs checkpoint at their next step and wait in the queue for the next start.
 */
import { RunningJob, type RunnerSettings } from './runner';

const POLL_MS = 500;

export class LocalScheduler {
  private readonly running = new Map<string, RunningJob>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly settings: RunnerSettings, private readonly maxJobs: number) {}

  start(): void {
    const resumed = this.settings.store.requeueRunning();
    if (resumed.length > 0) this.settings.log?.(`jobs interrupted by the last shutdown, resuming: ${resumed.join(', ')}`);
    // Polling also notices cancels and jobs queued by another process sharing the store.
    this.timer = setInterval(() => this.pump(), POLL_MS);
    this.timer.unref();
    this.pump();
  }

  /** Starts queued jobs while there is room. */
  pump(): void {
    if (this.closed) return;
    for (const queued of this.settings.store.queued()) {
      if (this.running.size >= this.maxJobs) return;
      const job = this.settings.store.claim(queued.id);
      if (!job) continue;
      const run = new RunningJob(job, this.settings);
      this.running.set(job.id, run);
      void run.finished.then(() => {
        this.running.delete(job.id);
        this.pump();
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.running.values()].map((run) => run.stop()));
  }
}
