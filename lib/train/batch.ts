/**
 * A training batch as callers pass it, checked and flattened for the gradient engine. The
 * inputs, puzzle identifiers and carry follow exactly the rules of `infer` (lib/request.ts);
 * labels add the official IGNORE_LABEL_ID (-100) for positions outside the loss.
 */
import { InputError } from '../errors';
import type { ModelDimensions, TrmConfig } from '../model/config';
import { normalizeInput } from '../request';
import type { Carry } from '../types';

// The official IGNORE_LABEL_ID: one constant for the whole library (lib/tasks/task.ts).
import { IGNORE_LABEL } from '../tasks/task';
export { IGNORE_LABEL };

export interface TrainBatch {
  /** Token ids: flat [batch * seq_len], or one array of seq_len tokens per sample. */
  inputs: Int32Array | ArrayLike<number>[];
  /** The target token of every position, shaped as `inputs`; -100 leaves a position out of the loss. */
  labels: Int32Array | ArrayLike<number>[];
  /** One puzzle identifier per sample; default 0 for every sample. */
  puzzleIdentifiers?: Int32Array | ArrayLike<number>;
  /** The carry entering the step (detached, as in the official training). Default: H_init / L_init. */
  carry?: Carry;
}

export interface NormalizedTrainBatch {
  batch: number;
  inputs: Int32Array;
  labels: Int32Array;
  puzzleIdentifiers: Int32Array;
  carry?: Carry;
}

const TRAIN_KEYS = new Set(['inputs', 'labels', 'puzzleIdentifiers', 'carry']);

function flattenLabels(labels: unknown, batch: number, seqLen: number): Int32Array {
  const expected = `${batch} * seq_len = ${batch * seqLen} labels, each -100 or a token id`;
  let out: Int32Array;
  if (labels instanceof Int32Array) {
    if (labels.length !== batch * seqLen) throw new InputError('labels do not match the inputs', { field: 'labels', value: labels.length, expected });
    out = labels.slice();
  } else if (Array.isArray(labels)) {
    if (labels.length !== batch) throw new InputError('one label row per sample', { field: 'labels', value: labels.length, expected: `${batch} rows of ${seqLen}` });
    out = new Int32Array(batch * seqLen);
    labels.forEach((row: unknown, b: number) => {
      const r = row as ArrayLike<number>;
      if (r === null || typeof r !== 'object' || r.length !== seqLen) {
        throw new InputError('wrong label row length', { field: `labels[${b}]`, value: r === null || typeof r !== 'object' ? r : r.length, expected: `seq_len = ${seqLen} labels` });
      }
      for (let t = 0; t < seqLen; t++) {
        if (!Number.isInteger(r[t])) throw new InputError('label is not an integer', { field: `labels[${b}][${t}]`, value: r[t], expected: 'an integer' });
        out[b * seqLen + t] = r[t];
      }
    });
  } else {
    throw new InputError('labels must be an Int32Array or an array of label arrays', { field: 'labels', value: labels, expected });
  }
  return out;
}

export function normalizeTrainBatch(batch: TrainBatch, config: TrmConfig, dims: ModelDimensions): NormalizedTrainBatch {
  if (typeof batch !== 'object' || batch === null) {
    throw new InputError('a training batch is an object { inputs, labels, puzzleIdentifiers?, carry? }', { field: 'batch', value: batch });
  }
  for (const key of Object.keys(batch)) {
    if (!TRAIN_KEYS.has(key)) throw new InputError('unknown batch field', { field: key, expected: [...TRAIN_KEYS].join(', ') });
  }
  if (batch.labels === undefined) throw new InputError('labels are required to compute a loss', { field: 'labels', expected: 'labels shaped as inputs' });
  const { labels, ...rest } = batch;
  const input = normalizeInput(rest, config, dims);
  const flat = flattenLabels(labels, input.batch, config.seq_len);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (v !== IGNORE_LABEL && (v < 0 || v >= config.vocab_size)) {
      throw new InputError('label outside the vocabulary', {
        field: `labels[${Math.floor(i / config.seq_len)}][${i % config.seq_len}]`, value: v,
        expected: `-100 (ignored) or 0 <= label < vocab_size (${config.vocab_size})`,
      });
    }
  }
  return { ...input, labels: flat };
}
