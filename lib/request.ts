/**
 * Turns what a caller passes to `infer` into one checked, flat request that any backend
 * can run. Every rejection names the field, the value and what was expected, and nothing
 * here touches a loaded model, so a bad call leaves the model as it was.
 */
import { InputError, LimitError, OptionError } from './errors';
import type { ModelDimensions, TrmConfig } from './model/config';
import type { HaltingPolicy } from './halting';
import type { InferInput, InferOptions, ModelLimits } from './types';

/** The checked options of one call. */
export interface RequestOptions extends HaltingPolicy {
  /** The recursion depth of every step: the config's H_cycles / L_cycles unless overridden. */
  hCycles: number;
  lCycles: number;
  trace: boolean;
  traceLogits: boolean;
  returnCarry: boolean;
}

export interface InferRequest extends RequestOptions {
  batch: number;
  inputs: Int32Array;
  puzzleIdentifiers: Int32Array;
  carry?: { zH: Float32Array; zL: Float32Array };
}

/** More steps than this is a mistake (a runaway loop), not deeper thinking. */
export const MAX_STEPS_LIMIT = 1_000_000;
/** Largest hCycles / lCycles a call may ask for (native/core/infer_types.h kMaxCycles). */
export const MAX_CYCLES = 256;

const OPTION_KEYS = new Set([
  'maxSteps', 'minSteps', 'haltThreshold', 'confidenceThreshold', 'stableSteps', 'hCycles', 'lCycles', 'trace', 'returnCarry',
]);
const INPUT_KEYS = new Set(['inputs', 'puzzleIdentifiers', 'carry']);

function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError('invalid option', { field, value, expected: `an integer in [${min}, ${max}]` });
  }
  return value;
}

/** A probability-like threshold in [0, 1], or null (undefined) for the rule off. */
function checkThreshold(field: string, value: unknown, off: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new OptionError('invalid option', { field, value, expected: `a number in [0, 1], or null ${off}` });
  }
  return value;
}

export function normalizeOptions(options: InferOptions | undefined, config: TrmConfig, limits?: ModelLimits): RequestOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new OptionError('options must be an object', { field: 'options', value: options, expected: 'an object or undefined' });
  }
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) throw new OptionError('unknown option', { field: key, value: o[key], expected: [...OPTION_KEYS].join(', ') });
  }
  const maxSteps = o.maxSteps === undefined ? config.halt_max_steps : checkInteger('maxSteps', o.maxSteps, 1, MAX_STEPS_LIMIT);
  if (limits !== undefined && maxSteps > limits.maxStepsLimit) {
    throw new LimitError('too many ACT steps for one call', { field: 'maxSteps', value: maxSteps, limit: limits.maxStepsLimit, option: 'maxStepsLimit' });
  }
  const minSteps = o.minSteps === undefined ? 1 : checkInteger('minSteps', o.minSteps, 1, maxSteps);
  const haltThreshold = checkThreshold('haltThreshold', o.haltThreshold, 'for no halting rule');
  const confidenceThreshold = checkThreshold('confidenceThreshold', o.confidenceThreshold, 'for no confidence rule');
  const stableSteps = o.stableSteps === undefined || o.stableSteps === null ? null : checkInteger('stableSteps', o.stableSteps, 1, MAX_STEPS_LIMIT);
  const hCycles = o.hCycles === undefined ? config.H_cycles : checkInteger('hCycles', o.hCycles, 1, MAX_CYCLES);
  const lCycles = o.lCycles === undefined ? config.L_cycles : checkInteger('lCycles', o.lCycles, 1, MAX_CYCLES);
  const trace = o.trace ?? false;
  if (trace !== true && trace !== false && trace !== 'logits') {
    throw new OptionError('invalid option', { field: 'trace', value: trace, expected: "true, false or 'logits'" });
  }
  const returnCarry = o.returnCarry ?? false;
  if (typeof returnCarry !== 'boolean') throw new OptionError('invalid option', { field: 'returnCarry', value: returnCarry, expected: 'a boolean' });
  return {
    maxSteps, minSteps, haltThreshold, confidenceThreshold, stableSteps, hCycles, lCycles,
    trace: trace !== false, traceLogits: trace === 'logits', returnCarry,
  };
}

function flattenTokens(inputs: unknown, seqLen: number): Int32Array {
  if (inputs instanceof Int32Array) {
    if (inputs.length === 0 || inputs.length % seqLen !== 0) {
      throw new InputError('wrong input length', { field: 'inputs', value: inputs.length, expected: `a positive multiple of seq_len (${seqLen})` });
    }
    return inputs.slice();
  }
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new InputError('inputs must be an Int32Array or a non-empty array of token arrays', {
      field: 'inputs', value: inputs, expected: `Int32Array [batch * ${seqLen}] or number[batch][${seqLen}]`,
    });
  }
  const out = new Int32Array(inputs.length * seqLen);
  inputs.forEach((row: unknown, b: number) => {
    const r = row as ArrayLike<number>;
    if (r === null || typeof r !== 'object' || typeof r.length !== 'number') {
      throw new InputError('each sample must be an array of tokens', { field: `inputs[${b}]`, value: row, expected: `${seqLen} tokens` });
    }
    if (r.length !== seqLen) {
      throw new InputError('wrong sequence length', { field: `inputs[${b}]`, value: r.length, expected: `seq_len = ${seqLen} tokens` });
    }
    for (let t = 0; t < seqLen; t++) {
      const v = r[t];
      if (!Number.isInteger(v)) throw new InputError('token is not an integer', { field: `inputs[${b}][${t}]`, value: v, expected: 'an integer token id' });
      out[b * seqLen + t] = v;
    }
  });
  return out;
}

/** Refuses a call of more than maxBatch samples before its tokens are read or copied. */
function checkBatchLimit(inputs: unknown, seqLen: number, limits: ModelLimits | undefined): void {
  if (limits === undefined || !Number.isFinite(limits.maxBatch)) return;
  const samples = inputs instanceof Int32Array ? Math.ceil(inputs.length / seqLen) : Array.isArray(inputs) ? inputs.length : 0;
  if (samples > limits.maxBatch) {
    throw new LimitError('too many samples for one call', { field: 'inputs', value: samples, limit: limits.maxBatch, option: 'maxBatch', expected: `at most ${limits.maxBatch} samples (load option maxBatch)` });
  }
}

export function normalizeInput(input: InferInput, config: TrmConfig, dims: ModelDimensions, limits?: ModelLimits): Pick<InferRequest, 'batch' | 'inputs' | 'puzzleIdentifiers' | 'carry'> {
  if (typeof input !== 'object' || input === null) {
    throw new InputError('infer takes an object { inputs, puzzleIdentifiers?, carry? }', { field: 'input', value: input });
  }
  for (const key of Object.keys(input)) {
    if (!INPUT_KEYS.has(key)) throw new InputError('unknown input field', { field: key, expected: [...INPUT_KEYS].join(', ') });
  }
  const seqLen = config.seq_len;
  checkBatchLimit(input.inputs, seqLen, limits);
  const inputs = flattenTokens(input.inputs, seqLen);
  const batch = inputs.length / seqLen;
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i] < 0 || inputs[i] >= config.vocab_size) {
      throw new InputError('token outside the vocabulary', {
        field: `inputs[${Math.floor(i / seqLen)}][${i % seqLen}]`, value: inputs[i], expected: `0 <= token < vocab_size (${config.vocab_size})`,
      });
    }
  }
  let puzzleIdentifiers = new Int32Array(batch);
  if (input.puzzleIdentifiers !== undefined) {
    const ids = input.puzzleIdentifiers as unknown;
    if (!(ids instanceof Int32Array) && !Array.isArray(ids)) {
      throw new InputError('puzzleIdentifiers must be an Int32Array or number[]', { field: 'puzzleIdentifiers', value: ids });
    }
    const list = ids as ArrayLike<number>;
    if (list.length !== batch) {
      throw new InputError('one puzzle identifier per sample', { field: 'puzzleIdentifiers', value: list.length, expected: `batch = ${batch} entries` });
    }
    puzzleIdentifiers = new Int32Array(batch);
    for (let b = 0; b < batch; b++) {
      const id = list[b];
      if (!Number.isInteger(id) || id < 0 || id >= config.num_puzzle_identifiers) {
        throw new InputError('puzzle identifier out of range', {
          field: `puzzleIdentifiers[${b}]`, value: id, expected: `an integer in [0, ${config.num_puzzle_identifiers})`,
        });
      }
      puzzleIdentifiers[b] = id;
    }
  }
  let carry: InferRequest['carry'];
  if (input.carry !== undefined) {
    const size = batch * dims.totalLen * config.hidden_size;
    const c = input.carry as unknown as Record<string, unknown>;
    if (typeof c !== 'object' || c === null) throw new InputError('carry must be { zH, zL }', { field: 'carry', value: c });
    for (const key of ['zH', 'zL'] as const) {
      const v = c[key];
      if (!(v instanceof Float32Array)) throw new InputError('carry arrays must be Float32Array', { field: `carry.${key}`, value: v, expected: 'Float32Array' });
      if (v.length !== size) {
        throw new InputError('carry of the wrong size', {
          field: `carry.${key}`, value: v.length, expected: `batch * (seq_len + puzzle prefix) * hidden = ${batch} * ${dims.totalLen} * ${config.hidden_size} = ${size}`,
        });
      }
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i])) throw new InputError('carry holds a non-finite value', { field: `carry.${key}[${i}]`, value: v[i], expected: 'finite numbers' });
      }
    }
    carry = { zH: (c.zH as Float32Array).slice(), zL: (c.zL as Float32Array).slice() };
  }
  return { batch, inputs, puzzleIdentifiers, carry };
}
