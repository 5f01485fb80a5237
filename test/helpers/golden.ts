/**
 * Golden outputs of the official TRM (see the README in the golden folder): loading one
 * case, and the error metrics the README specifies for comparing against it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '../../lib/model/safetensors';
import { GOLDEN_DIR } from './paths';

/** Every golden case, in the order of the golden README's table. */
export const GOLDEN_NAMES = ['att-rope-puzzle', 'mlpt-sudoku-shape', 'att-learned-nopuzzle', 'att-rope-puzzle-ndim'] as const;

export type GoldenName = (typeof GOLDEN_NAMES)[number];

export interface GoldenCase {
  name: string;
  /** The case's folder: config.json and model.safetensors live beside golden.safetensors. */
  dir: string;
  /** B. */
  batch: number;
  /** S = halt_max_steps: the ACT steps recorded. */
  steps: number;
  /** Positions of the carry (seq_len + puzzle prefix). */
  totalLen: number;
  hidden: number;
  seqLen: number;
  vocab: number;
  /** [B, seq_len]. */
  inputs: Int32Array;
  /** [B]. */
  puzzleIdentifiers: Int32Array;
  /** S + 1 entries, each [B, totalLen, hidden]: entry s is the carry entering step s. */
  zH: Float32Array[];
  zL: Float32Array[];
  /** S entries, each [B, seq_len, vocab]. */
  logits: Float32Array[];
  /** S entries, each [B]. */
  qHalt: Float32Array[];
  qContinue: Float32Array[];
}

export function goldenDir(name: string): string {
  return path.join(GOLDEN_DIR, name);
}

/** Splits a [N, ...rest] tensor into N views of `rest` elements each. */
function splitLeading(data: Float32Array, n: number): Float32Array[] {
  const each = data.length / n;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) out.push(data.subarray(i * each, (i + 1) * each));
  return out;
}

export function loadGolden(name: string): GoldenCase {
  const dir = goldenDir(name);
  const file = path.join(dir, 'golden.safetensors');
  if (!fs.existsSync(file)) throw new Error(`golden case ${name}: ${file} does not exist (set TRM_GOLDEN_DIR?)`);
  const st = readSafetensors(file);

  const zHShape = st.info('z_H').shape;
  const logitsShape = st.info('logits').shape;
  if (zHShape.length !== 4 || logitsShape.length !== 4) {
    throw new Error(`golden case ${name}: z_H ${JSON.stringify(zHShape)} / logits ${JSON.stringify(logitsShape)} are not [S(+1), B, T, C]`);
  }
  const [stepsPlusOne, batch, totalLen, hidden] = zHShape;
  const [steps, , seqLen, vocab] = logitsShape;
  if (stepsPlusOne !== steps + 1 || logitsShape[1] !== batch) {
    throw new Error(`golden case ${name}: z_H ${JSON.stringify(zHShape)} does not match logits ${JSON.stringify(logitsShape)}`);
  }
  const same = (tensor: string, expected: number[]): void => {
    const shape = st.info(tensor).shape;
    if (JSON.stringify(shape) !== JSON.stringify(expected)) {
      throw new Error(`golden case ${name}: ${tensor} has shape ${JSON.stringify(shape)}, expected ${JSON.stringify(expected)}`);
    }
  };
  same('z_L', zHShape);
  same('q_halt', [steps, batch]);
  same('q_continue', [steps, batch]);
  same('inputs', [batch, seqLen]);
  same('puzzle_identifiers', [batch]);

  return {
    name,
    dir,
    batch,
    steps,
    totalLen,
    hidden,
    seqLen,
    vocab,
    inputs: st.toInt32('inputs'),
    puzzleIdentifiers: st.toInt32('puzzle_identifiers'),
    zH: splitLeading(st.toFloat32('z_H'), steps + 1),
    zL: splitLeading(st.toFloat32('z_L'), steps + 1),
    logits: splitLeading(st.toFloat32('logits'), steps),
    qHalt: splitLeading(st.toFloat32('q_halt'), steps),
    qContinue: splitLeading(st.toFloat32('q_continue'), steps),
  };
}

/** Norm-wise relative error ||got - ref||_2 / ||ref||_2, the golden README's metric. */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new RangeError(`relativeError: lengths differ (${got.length} vs ${ref.length})`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i] - ref[i];
    diff += d * d;
    norm += ref[i] * ref[i];
  }
  // An all-zero reference only matches an all-zero result; NaN anywhere stays NaN, so it fails.
  if (norm === 0) return diff === 0 ? 0 : Infinity;
  return Math.sqrt(diff / norm);
}

/** max_i |got_i - ref_i|. NaN anywhere gives NaN. */
export function maxAbsError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new RangeError(`maxAbsError: lengths differ (${got.length} vs ${ref.length})`);
  let max = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > max) max = d;
  }
  return max;
}

/** Concatenates arrays into one Float32Array (e.g. golden carries of several steps into one batch). */
export function concat(parts: ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Every recorded step of a golden case as one batch: sample b of step s sits at s * batch + b,
 * with the golden carry going into step s, so one ACT step of this batch checks every step.
 */
export function everyStepBatch(golden: GoldenCase): { inputs: Int32Array; puzzleIdentifiers: Int32Array; carry: { zH: Float32Array; zL: Float32Array } } {
  const { batch: B, steps: S } = golden;
  const inputs = new Int32Array(S * golden.inputs.length);
  const puzzleIdentifiers = new Int32Array(S * B);
  for (let s = 0; s < S; s++) {
    inputs.set(golden.inputs, s * golden.inputs.length);
    puzzleIdentifiers.set(golden.puzzleIdentifiers, s * B);
  }
  return { inputs, puzzleIdentifiers, carry: { zH: concat(golden.zH.slice(0, S)), zL: concat(golden.zL.slice(0, S)) } };
}
