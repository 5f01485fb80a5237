/**
 * The dynamic batcher of one model version (Triton's): requests that arrive within a short
 * window, and whose options agree, go to the native operator as one batch. Each caller gets
 * back only its own samples, exactly as if it had run alone: the operator halts every sample
 * on its own and accumulates each output in the same order whatever rows share a batch, so
 * slicing a batch's result gives a lone run's result bit for bit (test/serve/batching.test.ts).
 *
 * While a batch runs, new requests queue; when it ends, the oldest group goes next. The
 * queue is bounded (in samples) and every request has a deadline; past either the caller gets
 * an UnavailableError (HTTP 503 with Retry-After).
 */
import { UnavailableError } from '../errors';
import type { InferResult } from '../types';

export interface BatchSettings {
  /** false: every request runs at once, alone (what calling the library concurrently does). */
  enabled: boolean;
  /** How long the oldest request of a group may wait for company, in ms (Triton's max_queue_delay). */
  windowMs: number;
  /** Samples in one batch at most; a request with more runs alone. */
  maxBatch: number;
  /** Samples waiting (not yet running) at most; past it a request is refused. */
  maxQueue: number;
  /** A request's deadline from its arrival, in ms; past it the caller gets an error. */
  timeoutMs: number;
}

export const DEFAULT_BATCH_SETTINGS: BatchSettings = { enabled: true, windowMs: 2, maxBatch: 64, maxQueue: 1024, timeoutMs: 30_000 };

/** Samples of one request, flat: `inputs` [count * seq_len], `puzzleIdentifiers` [count]. */
export interface Samples {
  count: number;
  inputs: Int32Array;
  puzzleIdentifiers: Int32Array;
}

export type BatchRunner = (samples: Samples, options: Record<string, unknown>) => Promise<InferResult>;

export interface BatchObserver {
  /** A batch of `samples` samples from `requests` requests went to the model. */
  batch?(samples: number, requests: number): void;
  /** Samples waiting after a change. */
  queueDepth?(samples: number): void;
}

interface Job {
  samples: Samples;
  options: Record<string, unknown>;
  key: string;
  arrived: number;
  settled: boolean;
  timer?: NodeJS.Timeout;
  resolve(result: InferResult): void;
  reject(error: unknown): void;
}

/** Options as a key: two requests batch together only when their keys are equal. */
export function optionsKey(options: Record<string, unknown>): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
    }
    return value;
  };
  return JSON.stringify(canonical(options));
}

function isSampleArray(value: unknown): value is ArrayLike<unknown> & { slice(a: number, b: number): unknown } {
  return (ArrayBuffer.isView(value) && !(value instanceof DataView)) || Array.isArray(value);
}

/**
 * Samples [start, start + count) of a batch's result. Every per-sample field is laid out
 * sample-major, so any array whose length is a multiple of the batch is cut the same way;
 * that keeps fields a newer library adds (per-sample stop reasons) working without a change
 * here. The trace keeps the steps these samples ran, as a lone run's trace would.
 */
export function sliceResult(result: InferResult, start: number, count: number): InferResult {
  const batch = result.batch;
  const cut = (value: unknown): unknown => {
    if (isSampleArray(value)) {
      if (value.length === 0 || value.length % batch !== 0) return value;
      const per = value.length / batch;
      return value.slice(start * per, (start + count) * per);
    }
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cut(v)]));
    }
    return value;
  };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    if (key === 'trace' && Array.isArray(value)) {
      const steps = result.steps.subarray(start, start + count);
      out.trace = (value as unknown[]).slice(0, Math.max(...steps)).map((record) => cut(record));
    } else {
      out[key] = cut(value);
    }
  }
  out.batch = count;
  return out as unknown as InferResult;
}

function concatSamples(jobs: Job[]): Samples {
  const count = jobs.reduce((n, j) => n + j.samples.count, 0);
  const seqLen = jobs[0].samples.inputs.length / jobs[0].samples.count;
  const inputs = new Int32Array(count * seqLen);
  const puzzleIdentifiers = new Int32Array(count);
  let at = 0;
  for (const job of jobs) {
    inputs.set(job.samples.inputs, at * seqLen);
    puzzleIdentifiers.set(job.samples.puzzleIdentifiers, at);
    at += job.samples.count;
  }
  return { count, inputs, puzzleIdentifiers };
}

export class DynamicBatcher {
  private readonly groups = new Map<string, Job[]>();
  private waiting = 0;
  /** Unbatched samples running: they wait in the operator's queue instead, and count against maxQueue there. */
  private unbatched = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly run: BatchRunner, readonly settings: BatchSettings, private readonly observer: BatchObserver = {}) {}

  /** Samples waiting for a batch. */
  get queued(): number {
    return this.waiting;
  }

  /** Batches (or, unbatched, requests) running now. */
  get active(): number {
    return this.running;
  }

  /** The result for these samples alone. `options` must already be checked: a batch fails as a whole. */
  submit(samples: Samples, options: Record<string, unknown>): Promise<InferResult> {
    const { maxQueue, timeoutMs } = this.settings;
    if (this.waiting + this.unbatched + samples.count > maxQueue) {
      return Promise.reject(new UnavailableError('the queue is full', {
        field: 'queue', value: this.waiting, expected: `at most ${maxQueue} waiting samples; retry later`, retryAfterSeconds: 1,
      }));
    }
    return new Promise<InferResult>((resolve, reject) => {
      const job: Job = { samples, options, key: optionsKey(options), arrived: performance.now(), settled: false, resolve, reject };
      job.timer = setTimeout(() => this.expire(job), timeoutMs);
      if (!this.settings.enabled) {
        this.unbatched += samples.count;
        this.start([job]);
        return;
      }
      const group = this.groups.get(job.key);
      if (group) group.push(job);
      else this.groups.set(job.key, [job]);
      this.waiting += samples.count;
      this.observer.queueDepth?.(this.waiting);
      this.schedule();
    });
  }

  /** Resolves once nothing waits or runs. */
  idle(): Promise<void> {
    if (this.waiting === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private expire(job: Job): void {
    if (job.settled) return;
    for (const [key, group] of this.groups) {
      const at = group.indexOf(job);
      if (at < 0) continue;
      group.splice(at, 1);
      if (group.length === 0) this.groups.delete(key);
      this.waiting -= job.samples.count;
      this.observer.queueDepth?.(this.waiting);
      break;
    }
    this.settle(job, undefined, new UnavailableError('the request timed out', {
      field: 'timeout', value: Math.round(performance.now() - job.arrived), expected: `an answer within ${this.settings.timeoutMs} ms; retry later`, retryAfterSeconds: 1,
    }));
    this.notifyIdle();
  }

  private settle(job: Job, result: InferResult | undefined, error?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (error !== undefined) job.reject(error);
    else job.resolve(result!);
  }

  /** The group whose first request has waited longest. */
  private oldestGroup(): Job[] | undefined {
    let oldest: Job[] | undefined;
    for (const group of this.groups.values()) {
      if (!oldest || group[0].arrived < oldest[0].arrived) oldest = group;
    }
    return oldest;
  }

  private schedule(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // One batch at a time per version (Triton's single instance): it already has every core.
    while (this.running === 0) {
      const group = this.oldestGroup();
      if (!group) return;
      const samples = group.reduce((n, j) => n + j.samples.count, 0);
      const waited = performance.now() - group[0].arrived;
      if (samples < this.settings.maxBatch && waited < this.settings.windowMs) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, Math.max(0, this.settings.windowMs - waited));
        return;
      }
      this.start(this.take(group));
    }
  }

  /** Whole requests from the front of `group`, up to maxBatch samples (always at least one). */
  private take(group: Job[]): Job[] {
    const jobs: Job[] = [];
    let samples = 0;
    while (group.length > 0 && (jobs.length === 0 || samples + group[0].samples.count <= this.settings.maxBatch)) {
      const job = group.shift()!;
      samples += job.samples.count;
      jobs.push(job);
    }
    if (group.length === 0) this.groups.delete(jobs[0].key);
    if (this.settings.enabled) {
      this.waiting -= samples;
      this.observer.queueDepth?.(this.waiting);
    }
    return jobs;
  }

  private start(jobs: Job[]): void {
    const samples = jobs.length === 1 ? jobs[0].samples : concatSamples(jobs);
    this.running++;
    this.observer.batch?.(samples.count, jobs.length);
    let pending: Promise<InferResult>;
    try {
      pending = this.run(samples, jobs[0].options);
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then((result) => {
      let at = 0;
      for (const job of jobs) {
        this.settle(job, jobs.length === 1 ? result : sliceResult(result, at, job.samples.count));
        at += job.samples.count;
      }
    }, (error: unknown) => {
      for (const job of jobs) this.settle(job, undefined, error);
    }).finally(() => {
      this.running--;
      if (!this.settings.enabled) this.unbatched -= samples.count;
      if (this.settings.enabled) this.schedule();
      this.notifyIdle();
    });
  }

  private notifyIdle(): void {
    if (this.waiting !== 0 || this.running !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
