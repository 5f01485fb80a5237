/**
 * The built-in tasks by name. Each task is a token encoding plus a seeded generator; see
 * `task.ts` for the interface and docs/tasks.md for the token layouts.
 */
import { OptionError } from '../errors';
import { ComplianceOptions, ComplianceTask } from './compliance';
import { MazeOptions, MazeTask } from './maze';
import { SudokuOptions, SudokuTask } from './sudoku';
import { Example, GenerateOptions, Task, checkCount } from './task';

export const TASK_NAMES = ['sudoku4', 'sudoku9', 'maze', 'compliance'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Parameters that change a task's shape (and so its seq_len). */
export interface TaskParams {
  /** Maze side N (seq_len N * N), default 11; the maze task only. */
  size?: number;
}

/** Every built-in task's options, for a task picked by a runtime string; generate rejects the ones its task lacks. */
export type AnyTaskOptions = SudokuOptions & MazeOptions & ComplianceOptions;

/**
 * The task called `name`. `params.size` picks the maze size; other tasks have a fixed shape
 * and reject it.
 */
export function getTask(name: 'sudoku4' | 'sudoku9'): SudokuTask;
export function getTask(name: 'maze', params?: TaskParams): MazeTask;
export function getTask(name: 'compliance'): ComplianceTask;
export function getTask(name: string, params?: TaskParams): Task<AnyTaskOptions>;
export function getTask(name: string, params: TaskParams = {}): Task<AnyTaskOptions> {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new OptionError('unknown task', { field: 'task', value: name, expected: `one of ${TASK_NAMES.join(', ')}` });
  }
  for (const key of Object.keys(params)) {
    if (key !== 'size') throw new OptionError('unknown task parameter', { field: key, value: (params as Record<string, unknown>)[key], expected: 'size' });
  }
  if (params.size !== undefined && name !== 'maze') {
    throw new OptionError('only the maze task has a size', { field: 'size', value: params.size, expected: `no size for task ${name}` });
  }
  switch (name as TaskName) {
    case 'sudoku4': return new SudokuTask(2);
    case 'sudoku9': return new SudokuTask(3);
    case 'maze': return new MazeTask(params.size);
    case 'compliance': return new ComplianceTask();
  }
}

/**
 * A training set and a held-out test set with no input in common: one run of the generator
 * (whose examples are pairwise distinct) cut in two. `train` equals
 * `task.generate(counts.train, seed, options)`, so growing the test set never changes it.
 * Disjointness is of the generated examples; an augmentation of a training example may
 * still coincide with a test input (as in the official sets).
 */
export function generateTrainTest<O extends GenerateOptions>(
  task: Task<O>, counts: { train: number; test: number }, seed: number, options?: O,
): { train: Example[]; test: Example[] } {
  checkCount(counts.train);
  checkCount(counts.test);
  const all = task.generate(counts.train + counts.test, seed, options);
  return { train: all.slice(0, counts.train), test: all.slice(counts.train) };
}

export { SudokuTask, MazeTask, ComplianceTask };
export { IGNORE_LABEL, exampleKey } from './task';
export type { Example, GenerateOptions, Task } from './task';
export type { SudokuOptions } from './sudoku';
export type { MazeOptions } from './maze';
export type { ComplianceOptions, Clause } from './compliance';
