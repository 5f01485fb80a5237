/**
 * The training examples of a run from their description (a generated task set or a JSONL
 * file), so that the first run and every resume build exactly the same stream.
 */
import { readJsonlDataset } from '../data/jsonl';
import type { TrmConfig } from '../model/config';
import { getTask, type TaskParams } from '../tasks';
import type { Example } from '../tasks/task';
import type { TrainingDataSource } from './checkpoint';
import type { Augmenter } from './sampler';

export interface TrainingData {
  examples: Example[];
  augment?: Augmenter;
}

export function buildTrainingData(source: TrainingDataSource, config: TrmConfig): TrainingData {
  if (source.kind === 'file') {
    const examples = readJsonlDataset(source.file, {
      seqLen: config.seq_len, vocabSize: config.vocab_size, numPuzzleIdentifiers: config.num_puzzle_identifiers,
    });
    const task = source.augmentTask ? getTask(source.augmentTask) : undefined;
    return { examples, augment: task?.augment?.bind(task) };
  }
  const task = getTask(source.task, (source.taskParams ?? {}) as TaskParams);
  const examples = task.generate(source.count, source.seed, source.options);
  return { examples, augment: source.augment ? task.augment?.bind(task) : undefined };
}
