/**
 * Which seeds make which split, so that a model is never scored on puzzles it trained on.
 *
 * A generated set is a pure function of (task, count, seed, options), so a seed names a set
 * in every process. The convention:
 * - training draws from seeds in [0, EVAL_SEED) (`checkTrainingSeed` says so to a trainer);
 * - held-out sets come from seeds >= EVAL_SEED; `trm eval` and `trm demo` use EVAL_SEED
 *   itself unless told otherwise.
 *
 * Two seeds give independent streams, not disjoint sets: on a small task the same puzzle
 * can come out of both (sudoku4 with default options: 10 of 1000 held-out puzzles also
 * appear among 100,000 training puzzles of another seed). The generator's `exclude` removes
 * them, but needs the training set in hand. So a trainer records how it generated its set
 * in the model's config.json, under TRAIN_DATA_KEY:
 *
 *   "train_data": { "seed": 1, "count": 100000, "options": { "minBlanks": 6, "maxBlanks": 10 } }
 *
 * and `heldOutSet` regenerates that set and keeps it out; the held-out set is then drawn with
 * the same generator options (the same difficulty). Without the key the held-out set is only
 * seed-disjoint, and overlaps as above are possible on small tasks. Augmentations of training
 * examples may still coincide with held-out inputs, as in the official Sudoku and maze sets.
 */
import { ModelFormatError, OptionError } from '../errors';
import { Example, GenerateOptions, Task, exampleKey } from './task';

/** The first held-out seed; every seed below it is training's. */
export const EVAL_SEED = 1_000_000_000;

/** The config.json key under which a trainer describes its generated training set. */
export const TRAIN_DATA_KEY = 'train_data';

/** How a training set was generated: `task.generate(count, seed, options)`. */
export interface TrainDataDescription {
  seed: number;
  count: number;
  /** Generator options (without `exclude`); the held-out set uses them too. */
  options?: Record<string, unknown>;
}

/** Throws unless `seed` is one training may use (an integer in [0, EVAL_SEED)). */
export function checkTrainingSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= EVAL_SEED) {
    throw new OptionError('training seeds stay below the held-out seeds', {
      field: 'seed', value: seed, expected: `an integer in [0, ${EVAL_SEED}) (seeds from ${EVAL_SEED} on make held-out sets)`,
    });
  }
  return seed;
}

/**
 * The training-set description in a model config (the value under TRAIN_DATA_KEY), checked;
 * undefined when the config has none. `file` names the config in errors.
 */
export function readTrainDataDescription(config: Record<string, unknown>, file?: string): TrainDataDescription | undefined {
  const raw = config[TRAIN_DATA_KEY];
  if (raw === undefined || raw === null) return undefined;
  const expected = '{ "seed": integer, "count": integer >= 0, "options"?: object }';
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ModelFormatError('invalid training-set description', { file, field: TRAIN_DATA_KEY, value: raw, expected });
  const { seed, count, options } = raw as Record<string, unknown>;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new ModelFormatError('invalid training-set description', { file, field: `${TRAIN_DATA_KEY}.seed`, value: seed, expected });
  }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw new ModelFormatError('invalid training-set description', { file, field: `${TRAIN_DATA_KEY}.count`, value: count, expected });
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options) || 'exclude' in options)) {
    throw new ModelFormatError('invalid training-set description', { file, field: `${TRAIN_DATA_KEY}.options`, value: options, expected: 'generator options (an object without exclude)' });
  }
  return { seed, count, options: options as Record<string, unknown> | undefined };
}

export interface HeldOutOptions<O extends GenerateOptions> {
  /** Default EVAL_SEED. */
  seed?: number;
  /** Generator options; default the training set's, else the task's defaults. */
  options?: O;
  /** The training set to keep out, regenerated here. */
  training?: TrainDataDescription;
}

export interface HeldOutSet {
  examples: Example[];
  seed: number;
  /** The generator options used (without exclude). */
  options: Record<string, unknown>;
  /** Training examples regenerated and kept out; 0 when no training set was described. */
  excludedTraining: number;
}

/**
 * `count` held-out examples: `task.generate(count, seed, options)` with the described
 * training set (if any) excluded.
 */
export function heldOutSet<O extends GenerateOptions>(task: Task<O>, count: number, held: HeldOutOptions<O> = {}): HeldOutSet {
  const seed = held.seed ?? EVAL_SEED;
  const options = { ...((held.options ?? held.training?.options ?? {}) as Record<string, unknown>) };
  delete options.exclude;
  let exclude: Set<string> | undefined;
  if (held.training && held.training.count > 0) {
    if (held.training.seed === seed) {
      throw new OptionError('the held-out seed is the training seed', { field: 'seed', value: seed, expected: `a seed other than the training set's (default ${EVAL_SEED})` });
    }
    const train = task.generate(held.training.count, held.training.seed, held.training.options as O);
    exclude = new Set(train.map((e) => exampleKey(e.inputs)));
  }
  const examples = task.generate(count, seed, { ...options, ...(exclude ? { exclude } : {}) } as O);
  return { examples, seed, options, excludedTraining: exclude?.size ?? 0 };
}

/**
 * One held-out example of the kind a model was trained on, as `trm solve --random` and the
 * server's example route draw it: `seed` (>= EVAL_SEED) with the generator options of the
 * model's training set when the task is the one it trained on. The training set is not
 * regenerated to be excluded (seconds on 100k puzzles, for one example): the seed keeps it
 * apart, with the rare overlap on small tasks that the note at the top of this file counts.
 */
export function heldOutExample<O extends GenerateOptions>(task: Task<O>, config: Record<string, unknown>, seed: number, file?: string): Example {
  const training = task.name === config.task ? readTrainDataDescription(config, file) : undefined;
  return heldOutSet(task, 1, { seed, options: training?.options as O | undefined }).examples[0];
}
