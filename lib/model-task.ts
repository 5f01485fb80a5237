/**
 * The task a model was trained for, read from its config: the `task` key (a built-in task
 * name), and the task's shape parameters from `task_params` (e.g. `{ "size": 11 }`) or, for
 * mazes, `maze_size` (what `MazeTask.suggestedConfig` writes) or the side of `seq_len`.
 * The task must fit the model: the same seq_len, a vocabulary the model covers, puzzle ids
 * it has rows for.
 */
import { ModelFormatError, OptionError } from './errors';
import type { TrmConfig } from './model/config';
import { TASK_NAMES, TaskParams, getTask } from './tasks';
import type { AnyTaskOptions } from './tasks';
import type { Task } from './tasks/task';

/** The config key naming a model's task. */
export const TASK_KEY = 'task';
/** The config key holding the task's shape parameters. */
export const TASK_PARAMS_KEY = 'task_params';

function taskParams(name: string, config: TrmConfig, file?: string): TaskParams {
  const raw = config[TASK_PARAMS_KEY];
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ModelFormatError('invalid task parameters', { file, field: TASK_PARAMS_KEY, value: raw, expected: 'an object such as { "size": 11 }' });
    }
    return raw as TaskParams;
  }
  if (name !== 'maze') return {};
  if (typeof config.maze_size === 'number') return { size: config.maze_size };
  // A maze model without either key: its seq_len is N * N.
  const side = Math.round(Math.sqrt(config.seq_len));
  return side * side === config.seq_len ? { size: side } : {};
}

/**
 * The task of a model: `override` (a task name given by the user) or the config's `task`
 * key. Throws an OptionError when neither names a built-in task, and a ModelFormatError when
 * the task does not fit the model.
 */
export function taskForModel(config: TrmConfig, override?: string, file?: string): Task<AnyTaskOptions> {
  const name = override ?? config[TASK_KEY];
  const names = TASK_NAMES.join(', ');
  if (name === undefined) {
    throw new OptionError('the model does not name its task', { field: '--task', value: undefined, expected: `a task name (${names}), or a "${TASK_KEY}" key in config.json` });
  }
  if (typeof name !== 'string' || !(TASK_NAMES as readonly string[]).includes(name)) {
    const where = override === undefined ? `config.json "${TASK_KEY}"` : '--task';
    throw new OptionError(`${where} is not a built-in task`, { field: override === undefined ? TASK_KEY : '--task', value: name, expected: `one of ${names}${override === undefined ? ' (or pass --task)' : ''}` });
  }
  const task = getTask(name, taskParams(name, config, file));
  const misfit = (field: string, value: unknown, expected: string): never => {
    throw new ModelFormatError(`task ${task.name} does not fit the model`, { file, field, value, expected });
  };
  if (config.seq_len !== task.seqLen) misfit('seq_len', config.seq_len, `${task.seqLen} (task ${task.name})`);
  if (config.vocab_size < task.vocabSize) misfit('vocab_size', config.vocab_size, `at least ${task.vocabSize} (task ${task.name})`);
  if (config.num_puzzle_identifiers < task.numPuzzleIdentifiers) {
    misfit('num_puzzle_identifiers', config.num_puzzle_identifiers, `at least ${task.numPuzzleIdentifiers} (task ${task.name})`);
  }
  return task;
}
