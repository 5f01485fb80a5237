/**
 * What a job trains: the model config, the training examples (as a TrainingDataSource, so a
 * resume rebuilds the same stream), the held-out sets it is scored on, and the baseline (the
 * version it would replace, scored on the same sets). Built once, at the job's first start,
 * and frozen into the job's folder: the data snapshot (train.jsonl), each held-out set
 * (heldout-<set>.jsonl), the baseline's scores (baseline.json). A restart resumes from the
 * checkpoint and these files, never from the store's feedback or the repository's versions,
 * which may have moved on since.
 *
 * - train, task: the task's generated set (seed = recipe seed) and its suggested model; held
 *   out: the task's held-out set with the training set excluded (lib/tasks/splits.ts).
 * - train, dataset: the uploaded examples, every 10th held out; the model is the dataset
 *   task's suggested one, or one sized from the data (as `trm train --data`).
 * - fine-tune: starts from the base version's weights; trains on the model's feedback (every
 *   5th example held out) mixed with `replay` examples of the model's original training set
 *   per feedback example; held out: the original held-out set and the held-out feedback.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configFromData } from '../../cli/train';
import { readJsonlDataset, writeJsonlDataset } from '../../data/jsonl';
import { OptionError } from '../../errors';
import { evaluateModel } from '../../evaluate';
import { parseConfig, type TrmConfig } from '../../model/config';
import { readModelDirectory } from '../../model/directory';
import { writeFileAtomic } from '../../util/write-file-atomic';
import { getTask } from '../../tasks';
import { heldOutSet, readTrainDataDescription, TRAIN_DATA_KEY } from '../../tasks/splits';
import type { Example } from '../../tasks/task';
import { loadCheckpoint, TRAIN_STATE_FILE, TRAINING_KEY, type TrainingDataSource } from '../../train/checkpoint';
import { buildTrainingData } from '../../train/data';
import { Trainer } from '../../train/trainer';
import { createModel } from '../../trm-model';
import type { Accuracy, DatasetRecord, FeedbackRow, JobRecord } from './store';

export const DEFAULT_TRAIN_COUNT = 10000;
export const DEFAULT_REPLAY = 1;
const DATASET_HOLD_OUT_EVERY = 10;
const FEEDBACK_HOLD_OUT_EVERY = 5;

export interface JobFiles {
  dir: string;
  /** The checkpoint: a model directory (EMA weights) plus the resume state. */
  checkpoint: string;
  trainData: string;
  baseline: string;
  heldOut(set: string): string;
}

export function jobFiles(dir: string): JobFiles {
  return {
    dir,
    checkpoint: path.join(dir, 'checkpoint'),
    trainData: path.join(dir, 'train.jsonl'),
    baseline: path.join(dir, 'baseline.json'),
    heldOut: (set) => path.join(dir, `heldout-${set}.jsonl`),
  };
}

/** What the plan needs from outside the job folder, at a first start only. */
export interface PlanSources {
  repositoryRoot: string;
  dataset(id: string): { record: DatasetRecord; file: string };
  feedback(model: string): FeedbackRow[];
  threads: number;
}

export interface RunPlan {
  trainer: Trainer;
  data: TrainingDataSource;
  heldOut: Record<string, Example[]>;
  baseline: Record<string, Accuracy> | null;
  resumed: boolean;
}

interface Frozen {
  config: TrmConfig;
  data: TrainingDataSource;
  heldOut: Record<string, Example[]>;
  weights?: Record<string, Float32Array>;
  baseDir?: string;
}

export async function planRun(job: JobRecord, files: JobFiles, sources: PlanSources): Promise<RunPlan> {
  const { spec } = job;
  const recipe = { ...spec.recipe };
  if (fs.existsSync(path.join(files.checkpoint, TRAIN_STATE_FILE))) {
    const saved = loadCheckpoint(files.checkpoint);
    const built = buildTrainingData(saved.data, saved.config);
    const trainer = new Trainer({
      config: saved.config, train: built.examples, augment: built.augment, recipe: saved.recipe,
      weights: saved.state.weights, threads: sources.threads,
    });
    trainer.restore(saved.state);
    return { trainer, data: saved.data, heldOut: readHeldOut(files, saved.config), baseline: readBaseline(files), resumed: true };
  }
  fs.mkdirSync(files.dir, { recursive: true });
  const frozen = freeze(job, files, sources);
  for (const [set, examples] of Object.entries(frozen.heldOut)) writeJsonlDataset(files.heldOut(set), examples);
  const baseline = frozen.baseDir ? await score(frozen.baseDir, frozen.heldOut, sources.threads) : null;
  writeFileAtomic(files.baseline, JSON.stringify(baseline) + '\n');
  const built = buildTrainingData(frozen.data, frozen.config);
  const trainer = new Trainer({ config: frozen.config, train: built.examples, augment: built.augment, recipe, weights: frozen.weights, threads: sources.threads });
  return { trainer, data: frozen.data, heldOut: frozen.heldOut, baseline, resumed: false };
}

function freeze(job: JobRecord, files: JobFiles, sources: PlanSources): Frozen {
  const { spec } = job;
  const baseDir = spec.baseVersion !== undefined ? path.join(sources.repositoryRoot, spec.model, String(spec.baseVersion)) : undefined;
  if (spec.kind === 'fine-tune') return freezeFineTune(job, files, sources, baseDir!);
  const comparable = (config: TrmConfig) => {
    if (!baseDir) return undefined;
    try {
      const base = readModelDirectory(baseDir).config;
      return base.seq_len === config.seq_len && base.vocab_size === config.vocab_size ? baseDir : undefined;
    } catch {
      return undefined;
    }
  };
  if (spec.task !== undefined) {
    const task = getTask(spec.task);
    const seed = spec.recipe.seed ?? 0;
    const count = spec.trainCount ?? DEFAULT_TRAIN_COUNT;
    const options = spec.taskOptions ?? {};
    const config = parseConfig({ ...task.suggestedConfig(), [TRAIN_DATA_KEY]: { seed, count, options } }, '<job config>');
    const heldOut: Record<string, Example[]> = spec.evalCount > 0 ? { heldOut: heldOutSet(task, spec.evalCount, { training: { seed, count, options } }).examples } : {};
    return { config, data: { kind: 'task', task: task.name, seed, count, options, augment: true }, heldOut, baseDir: comparable(config) };
  }
  const { record, file } = sources.dataset(spec.dataset!);
  const all = readJsonlDataset(file);
  const { train, held } = split(all, DATASET_HOLD_OUT_EVERY);
  writeJsonlDataset(files.trainData, train);
  const config = parseConfig(record.task ? getTask(record.task).suggestedConfig() : configFromData(all), '<job config>');
  return {
    config, data: { kind: 'file', file: files.trainData, ...(record.task ? { augmentTask: record.task } : {}) },
    heldOut: held.length > 0 ? { heldOut: held.slice(0, spec.evalCount || held.length) } : {}, baseDir: comparable(config),
  };
}

function freezeFineTune(job: JobRecord, files: JobFiles, sources: PlanSources, baseDir: string): Frozen {
  const { spec } = job;
  const base = readModelDirectory(baseDir);
  const feedback: Example[] = sources.feedback(spec.model).map((r) => ({ inputs: Int32Array.from(r.inputs), labels: Int32Array.from(r.labels), puzzleIdentifier: r.puzzleIdentifier }));
  if (feedback.length === 0) throw new OptionError('the model has no feedback to fine-tune on', { field: 'model', value: spec.model, expected: `examples sent to POST /v1/models/${spec.model}/feedback` });
  const { train: feedbackTrain, held: feedbackHeld } = split(feedback, FEEDBACK_HOLD_OUT_EVERY);
  const taskName = typeof base.config.task === 'string' ? base.config.task : undefined;
  const described = readTrainDataDescription(base.config as Record<string, unknown>, path.join(baseDir, 'config.json'));
  const heldOut: Record<string, Example[]> = {};
  const mixed = [...feedbackTrain];
  if (taskName && described) {
    const task = getTask(taskName);
    const replay = Math.min(described.count, Math.round((spec.replay ?? DEFAULT_REPLAY) * feedbackTrain.length));
    mixed.push(...task.generate(described.count, described.seed, described.options).slice(0, replay));
    if (spec.evalCount > 0) heldOut.original = heldOutSet(task, spec.evalCount, { training: described }).examples;
  }
  if (feedbackHeld.length > 0) heldOut.feedback = feedbackHeld;
  writeJsonlDataset(files.trainData, mixed);
  const config = { ...base.config };
  delete config[TRAINING_KEY];
  return {
    config, weights: base.weights, baseDir, heldOut,
    data: { kind: 'file', file: files.trainData, ...(taskName ? { augmentTask: taskName } : {}) },
  };
}

/** Every `every`-th example (the last of each run of `every`) held out, the rest trained on. */
function split(examples: readonly Example[], every: number): { train: Example[]; held: Example[] } {
  if (examples.length < every) return { train: [...examples], held: [] };
  const train: Example[] = [], held: Example[] = [];
  examples.forEach((e, i) => ((i % every === every - 1) ? held : train).push(e));
  return { train, held };
}

function readHeldOut(files: JobFiles, config: TrmConfig): Record<string, Example[]> {
  const out: Record<string, Example[]> = {};
  for (const name of fs.readdirSync(files.dir)) {
    const m = /^heldout-(.+)\.jsonl$/.exec(name);
    if (m) out[m[1]] = readJsonlDataset(path.join(files.dir, name), { seqLen: config.seq_len, vocabSize: config.vocab_size });
  }
  return out;
}

function readBaseline(files: JobFiles): Record<string, Accuracy> | null {
  try {
    return JSON.parse(fs.readFileSync(files.baseline, 'utf8')) as Record<string, Accuracy> | null;
  } catch {
    return null;
  }
}

/** Exact accuracy with every ACT step (the official eval), per set. */
export async function scoreModel(model: ReturnType<typeof createModel>, sets: Record<string, Example[]>): Promise<Record<string, Accuracy>> {
  const out: Record<string, Accuracy> = {};
  for (const [set, examples] of Object.entries(sets)) {
    const run = await evaluateModel(model, examples, { haltThreshold: null, batch: 64 });
    out[set] = { exact: run.exactAccuracy, correct: run.exactCorrect, count: run.count };
  }
  return out;
}

async function score(dir: string, sets: Record<string, Example[]>, threads: number): Promise<Record<string, Accuracy>> {
  const { config, weights } = readModelDirectory(dir);
  const model = createModel(config, weights, { threads });
  try {
    return await scoreModel(model, sets);
  } finally {
    model.dispose();
  }
}
