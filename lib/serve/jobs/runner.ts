/**
 * Runs one claimed job to its end: forks the training process (job-process.ts) with the
 * job's thread budget, writes what it reports into the store, checks for a cancel between
 * reports, and publishes the model when it is done. Used by the server's own scheduler
 * (scheduler.ts) and by `trm worker` (redis-queue.ts) alike.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelRepository } from '../repository';
import type { ControlMessage, ReportMessage } from './messages';
import { fileSha256, publishJob } from './publish-job';
import type { JobProgress, JobRecord, JobStore } from './store';
import { jobFiles } from './training-plan';

export interface RunnerSettings {
  store: JobStore;
  /** Publishes finished models (the server's repository, or an unstarted one in a worker). */
  repository: ModelRepository;
  root: string;
  /** Engine threads of each job. */
  threads: number;
  /** Niceness of the training processes (default 10: serving first). */
  nice: number;
  log?: (message: string) => void;
}

const CANCEL_POLL_MS = 300;
const STOP_GRACE_MS = 60_000;

/** The compiled training process: beside this file in dist/, or dist/ when running from the TypeScript sources (tests). */
export function jobProcessScript(): string {
  const beside = path.join(__dirname, 'job-process.js');
  if (fs.existsSync(beside)) return beside;
  return path.resolve(__dirname, '..', '..', '..', 'dist', 'serve', 'jobs', 'job-process.js');
}

export class RunningJob {
  /** How the run ended: the job's final status, or 'requeued' (stopped to resume later). */
  readonly finished: Promise<'succeeded' | 'failed' | 'cancelled' | 'requeued'>;
  private readonly child: ChildProcess;
  private stopping = false;

  constructor(readonly job: JobRecord, private readonly settings: RunnerSettings) {
    const { store } = settings;
    const child = fork(jobProcessScript(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child = child;
    let progress: JobProgress = job.progress ?? { step: 0, total: Number(job.spec.recipe.steps ?? 0), loss: null, actSteps: null, stepsPerSecond: null, etaSeconds: null, heldOut: null, resumedFrom: null };
    let final: ReportMessage | undefined;
    let publishing: Promise<void> | undefined;
    let outcome: 'succeeded' | 'failed' | 'cancelled' | 'requeued' | undefined;
    const cancelPoll = setInterval(() => {
      try {
        if (store.findJob(job.id)?.cancelRequested) this.send({ type: 'cancel' });
      } catch {
        // The store closed under us (shutdown); the exit handler settles the job.
      }
    }, CANCEL_POLL_MS);

    const settle = (status: 'succeeded' | 'failed' | 'cancelled', details: Parameters<JobStore['finish']>[2] = {}) => {
      store.finish(job.id, status, details);
      outcome = status;
    };
    child.on('message', (m: ReportMessage) => {
      switch (m.type) {
        case 'started':
          progress = { ...progress, step: m.step, total: m.total, resumedFrom: m.resumed ? m.step : null };
          store.setProgress(job.id, progress);
          settings.log?.(`job ${job.id}: ${m.resumed ? `resumed at step ${m.step}` : 'started'} (${m.total} steps)`);
          break;
        case 'progress':
          progress = { ...progress, step: m.step, total: m.total, loss: m.loss, actSteps: m.actSteps ?? progress.actSteps, stepsPerSecond: m.stepsPerSecond, etaSeconds: m.etaSeconds };
          store.setProgress(job.id, progress);
          break;
        case 'evaluated':
          progress = { ...progress, heldOut: { step: m.step, sets: m.sets } };
          store.setProgress(job.id, progress);
          break;
        case 'checkpoint':
          break;
        case 'done': {
          final = m;
          const snapshot = jobFiles(path.dirname(m.checkpoint)).trainData;
          const finished = {
            checkpoint: m.checkpoint, heldOut: m.heldOut, baseline: m.baseline, trainingSeconds: m.trainingSeconds,
            // An uploaded dataset is named by its hash as GET /v1/datasets shows it; a fine-tune's mix by its snapshot's.
            datasetSha256: job.spec.dataset !== undefined ? store.dataset(job.spec.dataset)?.sha256 ?? null : fs.existsSync(snapshot) ? fileSha256(snapshot) : null,
          };
          publishing = (job.spec.publish
            ? publishJob(settings.repository, settings.root, job, finished)
            : Promise.resolve({ version: null, promoted: false, promoteReason: 'publish: false', heldOut: m.heldOut, baseline: m.baseline, trainingSeconds: m.trainingSeconds, deleted: [] }))
            .then((result) => {
              settle('succeeded', { result });
              settings.log?.(`job ${job.id}: succeeded${result.version !== null ? `, published ${job.model} version ${result.version}${result.promoted ? ' as current' : ''}` : ''}`);
            }, (e: unknown) => settle('failed', { error: `publishing failed: ${(e as Error).message}` }));
          break;
        }
        default:
          final = m;
      }
    });
    this.finished = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        clearInterval(cancelPoll);
        void (async () => {
          await publishing;
          if (outcome === undefined) {
            if (final?.type === 'cancelled') settle('cancelled');
            else if (final?.type === 'failed') settle('failed', { error: final.error });
            else if (final?.type === 'stopped' || this.stopping) {
              store.requeue(job.id);
              outcome = 'requeued';
            } else {
              settle('failed', { error: `the training process exited (${signal ?? `code ${code}`}) before finishing` });
            }
          }
          resolve(outcome!);
        })();
      });
    });
    child.send({ type: 'start', job, repositoryRoot: settings.root, threads: settings.threads, nice: settings.nice } satisfies ControlMessage);
  }

  /** Asks the training process to checkpoint and exit; the job goes back to the queue to resume. */
  stop(): Promise<unknown> {
    this.stopping = true;
    this.send({ type: 'stop' });
    const force = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    return this.finished.finally(() => clearTimeout(force));
  }

  private send(message: ControlMessage): void {
    if (this.child.connected) this.child.send(message);
  }
}
