/**
 * The training examples of a run from their description (a generated task set or a JSONL
 * file), so that the first run and every resume build exactly the same stream.
 */
import { parseCodec } from '../codecs/codec';
import { describeNotes, encodeDataset, readLabelledJsonl } from '../codecs/dataset';
import { readJsonlDataset } from '../data/jsonl';
import type { TrmConfig } from '../model/config';
import { getTask, type TaskParams } from '../tasks';
import type { Example } from '../tasks/task';
import type { TrainingDataSource } from './checkpoint';
import type { Augmenter } from './sampler';

export interface TrainingData {
  examples: Example[];
  augment?: Augmenter;
  /** For records and texts: unknown values and truncations, one line per field (codec/dataset.ts). */
  notes?: string[];
}

export function buildTrainingData(source: TrainingDataSource, config: TrmConfig): TrainingData {
  if (source.kind === 'file' && source.codec) {
    // Records or texts: encoded by the run's codec, the same on every resume.
    const codec = parseCodec(source.codec, source.file);
    const encoded = encodeDataset(codec, readLabelledJsonl(source.file), source.file);
    return { examples: encoded.examples, notes: describeNotes(encoded.notes) };
  }
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
