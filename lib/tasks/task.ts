/**
 * The interface every task generator implements, and the helpers they share. A task is a
 * token encoding (fixed seq_len and vocabulary), a seeded generator of distinct examples,
 * label-consistent augmentations, an exact-match scorer and a text rendering for people.
 */
import { OptionError } from '../errors';
import { SeededRandom } from '../util/seeded-random';

/** Label of a position the loss and the scorer skip (the official `IGNORE_LABEL_ID`). */
export const IGNORE_LABEL = -100;

/** One training or test example: `inputs` and `labels` are both `seqLen` long. */
export interface Example {
  inputs: Int32Array;
  /** The target token at every position, or IGNORE_LABEL (-100) where nothing is asked. */
  labels: Int32Array;
  /** Row of the puzzle-embedding table (always 0 for the built-in tasks, as in the official Sudoku and maze sets). */
  puzzleIdentifier: number;
}

/** Options every generator understands; each task adds its own (see its file). */
export interface GenerateOptions {
  /**
   * Hashes (see `exampleKey`) of inputs the result must not contain: how a test set is kept
   * apart from a training set generated earlier.
   */
  exclude?: ReadonlySet<string>;
}

export interface Task<Options extends GenerateOptions = GenerateOptions> {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly numPuzzleIdentifiers: number;
  /**
   * `count` examples with pairwise distinct inputs, a pure function of (count, seed,
   * options): the same call gives the same examples on every machine.
   */
  generate(count: number, seed: number, options?: Options): Example[];
  /** A random symmetry of the example: inputs and labels transformed together, so the labels stay correct. */
  augment?(example: Example, rng: SeededRandom): Example;
  /** Exact match on every labelled position (labels !== IGNORE_LABEL). */
  isCorrect(predictions: Int32Array, example: Example): boolean;
  /**
   * Text for people: the board, maze or rule list of `inputs`; with `outputs` (labels or a
   * model's predictions) the answer positions show those instead.
   */
  format(inputs: Int32Array, outputs?: Int32Array): string;
  /** Reads the text form a user would type (a Sudoku string, a maze drawing, rule clauses) into input tokens. */
  parse?(text: string): Int32Array;
  /**
   * The input in the text form `parse` reads, for a task whose `format` draws something else
   * (the compliance rule list); without it, `format(inputs)` is that text form.
   */
  inputText?(inputs: Int32Array): string;
  /** Official config keys (`config/arch/trm.yaml` names) for a small model that fits the task. */
  suggestedConfig(): Record<string, unknown>;
}

/** A stable text key of an example's inputs, for deduplication and train/test disjointness. */
export function exampleKey(inputs: Int32Array): string {
  // The tokens themselves (not a hash of them): collisions are impossible and the sequences are short.
  return Array.prototype.join.call(inputs, ',');
}

export function exactMatch(predictions: Int32Array, labels: Int32Array): boolean {
  if (predictions.length !== labels.length) {
    throw new OptionError('predictions and labels differ in length', { field: 'predictions', value: predictions.length, expected: `${labels.length} tokens` });
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== IGNORE_LABEL && predictions[i] !== labels[i]) return false;
  }
  return true;
}

export function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new OptionError('invalid example count', { field: 'count', value: count, expected: 'an integer >= 0' });
  }
}

export function checkIntOption(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError('invalid task option', { field, value, expected: `an integer in [${min}, ${max}]` });
  }
  return value;
}

/** Rejects option keys the task does not know, so a typo surfaces instead of being ignored. */
export function checkOptionKeys(task: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new OptionError(`unknown option for task ${task}`, { field: key, value: (options as Record<string, unknown>)[key], expected: `one of ${known.join(', ')}` });
    }
  }
}

/**
 * Runs `make` until `count` examples with distinct inputs (and none in `exclude`) exist.
 * Gives up with an OptionError when the task's space is too small for the request, rather
 * than looping forever (e.g. 10,000 distinct 5x5 mazes).
 */
export function collectDistinct(count: number, exclude: ReadonlySet<string> | undefined, make: () => Example, task: string): Example[] {
  return collectDistinctBy(count, exclude, make, (example) => exampleKey(example.inputs), task);
}

/** collectDistinct for any kind of example, `key` naming what makes two of them the same. */
export function collectDistinctBy<T>(count: number, exclude: ReadonlySet<string> | undefined, make: () => T, key: (example: T) => string, task: string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  let misses = 0;
  const maxMisses = 1000 + 10 * count;
  while (out.length < count) {
    const example = make();
    const k = key(example);
    if (seen.has(k) || exclude?.has(k)) {
      if (++misses > maxMisses) {
        throw new OptionError(`task ${task} cannot make that many distinct examples with these options`, {
          field: 'count', value: count, expected: `fewer examples (got ${out.length} distinct after ${misses} duplicates) or wider options`,
        });
      }
      continue;
    }
    seen.add(k);
    out.push(example);
  }
  return out;
}

/** Fisher-Yates with the seeded generator. */
export function shuffleInPlace<T>(items: T[] | Int32Array, rng: SeededRandom): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

/** Uniform integer in [0, n), n <= 2^32 (rejection sampling, no modulo bias). */
export function randomInt(rng: SeededRandom, n: number): number {
  if (n <= 1) return 0;
  const limit = 0x100000000 - (0x100000000 % n);
  let x: number;
  do {
    x = rng.nextU32();
  } while (x >= limit);
  return x % n;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: SeededRandom): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(p, rng);
  return p;
}
