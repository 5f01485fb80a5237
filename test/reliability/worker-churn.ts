/**
 * A pool of worker_threads, each loading the addon and a model and keeping a call in
 * flight, terminated at random moments and replaced: what a service's worker pool
 * (piscina, a request timeout) does. Used by workers.test.ts.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NativeRequest, NativeSpec, NativeStepRequest } from '../../lib/native/addon';
import { SeededRandom } from '../../lib/util/seeded-random';

export const WORKER_FILE = path.join(__dirname, 'infer-worker.cjs');
export const MODES = ['infer', 'infer', 'sync', 'dispose', 'step'] as const;
export type Mode = (typeof MODES)[number];

export interface Answer {
  predictions: Int32Array;
  logits: Float32Array;
  steps: Int32Array;
  qHalt: Float32Array;
}

export interface ChurnSetup {
  addon: string;
  spec: NativeSpec;
  weights: Record<string, Float32Array>;
  request: NativeRequest;
  stepRequest: NativeStepRequest;
}

export interface ChurnReport {
  terminated: number;
  /** What each worker answered first (and, in mode 'dispose', for the call disposed under it). */
  answers: Answer[];
  losses: number[];
  /** Process RSS in bytes after each termination, in order. */
  rss: number[];
  failures: string[];
}

function nextMessage(worker: Worker): Promise<{ kind: string; result?: Answer; loss?: number; message?: string }> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { kind: string }) => { cleanup(); resolve(m); };
    const onError = (e: Error) => { cleanup(); reject(e); };
    const onExit = (code: number) => { cleanup(); reject(new Error(`worker exited with ${code} before answering`)); };
    const cleanup = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Runs `total` worker lifetimes on `poolSize` slots; each is terminated `0..maxDelayMs` after its first answer. */
export async function churn(setup: ChurnSetup, total: number, poolSize = 4, maxDelayMs = 8, seed = 1): Promise<ChurnReport> {
  const random = new SeededRandom(seed, 'churn');
  const report: ChurnReport = { terminated: 0, answers: [], losses: [], rss: [], failures: [] };
  let started = 0;
  const slot = async () => {
    while (started < total) {
      const mode = MODES[started++ % MODES.length];
      const worker = new Worker(WORKER_FILE, { workerData: { ...setup, mode } });
      try {
        const first = await nextMessage(worker);
        if (first.kind === 'error') throw new Error(first.message);
        if (first.result) report.answers.push(first.result);
        if (first.loss !== undefined) report.losses.push(first.loss);
        if (mode === 'dispose') {
          const disposed = await nextMessage(worker);
          if (disposed.kind !== 'disposed') throw new Error(`after dispose: ${disposed.message ?? disposed.kind}`);
          report.answers.push(disposed.result!);
        }
      } catch (e) {
        report.failures.push(`${mode}: ${(e as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, random.uniform() * maxDelayMs));
      await worker.terminate();
      report.terminated++;
      report.rss.push(process.memoryUsage().rss);
    }
  };
  await Promise.all(Array.from({ length: poolSize }, slot));
  return report;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
