/**
 * One loaded version of a model: the model, its task (for the text form), its metadata, its
 * dynamic batcher, and how many requests hold it. The repository hands it to a request for
 * the request's duration (`ModelRepository.use`); a retired version is freed when the last
 * request holding it ends.
 */
import * as path from 'node:path';
import { taskForModel } from '../model-task';
import { CONFIG_FILE } from '../model/directory';
import type { AnyTaskOptions, Task } from '../tasks';
import type { TrmModel } from '../trm-model';
import type { InferResult } from '../types';
import { BatchSettings, DynamicBatcher, Samples } from './batcher';
import type { RepositoryObserver } from './repository';
import { VersionMetadata, versionMetadata } from './version-info';

/** One loaded version. Routes get it from `use` and must not keep it past their callback. */
export class LoadedVersion {
  readonly metadata: VersionMetadata;
  /** The task whose text form the model reads and writes, or null (then `taskProblem` says why). */
  readonly task: Task<AnyTaskOptions> | null;
  readonly taskProblem: string | null;
  readonly batcher: DynamicBatcher;
  inFlight = 0;
  retired = false;
  private drained: Array<() => void> = [];

  constructor(readonly name: string, readonly version: number, readonly dir: string, readonly model: TrmModel, batch: BatchSettings, private readonly observer: RepositoryObserver) {
    this.metadata = versionMetadata(dir, model.config);
    let task: Task<AnyTaskOptions> | null = null;
    let problem: string | null = null;
    try {
      task = taskForModel(model.config, undefined, path.join(dir, CONFIG_FILE));
    } catch (e) {
      problem = (e as Error).message;
    }
    this.task = task;
    this.taskProblem = problem;
    this.batcher = new DynamicBatcher((samples, options) => model.infer({ inputs: samples.inputs, puzzleIdentifiers: samples.puzzleIdentifiers }, options), batch, {
      batch: (n, requests) => observer.batch?.(name, version, n, requests),
      queueDepth: (n) => observer.queueDepth?.(name, version, n),
    });
  }

  get config() {
    return this.model.config;
  }

  /** The result for these samples (checked by the caller), batched with compatible requests. */
  async infer(samples: Samples, options: Record<string, unknown>): Promise<InferResult> {
    const result = await this.batcher.submit(samples, options);
    this.observer.answered?.(this.name, this.version, result);
    return result;
  }

  /** Resolves once no request holds this version. */
  whenUnused(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  release(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      const waiters = this.drained;
      this.drained = [];
      for (const resolve of waiters) resolve();
      if (this.retired) this.model.dispose();
    }
  }
}
