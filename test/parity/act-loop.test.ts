/**
 * The shared TypeScript ACT loop (lib/backends/act-loop.ts) against the native fused loop it must
 * mirror. The loop is driven with the native operator itself as its step function (one
 * native call with maxSteps 1 per ACT step), so the numbers of each step are the native
 * ones and any difference is the loop's: halting, compaction, trace, carry. Since the
 * compacted batches are the same as the native loop's, results must match exactly.
 */
import { describe, expect, it } from 'vitest';
import { createModel } from '../../lib';
import { runActLoop, type StepFunction } from '../../lib/backends/act-loop';
import { modelDimensions } from '../../lib/model/config';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { normalizeInput, normalizeOptions } from '../../lib/request';
import type { InferInput, InferOptions, InferResult } from '../../lib/types';
import type { BackendResult } from '../../lib/backends/backend';
import { MIN_STOP_MARGIN, pickThreshold } from '../helpers/stopping';

const config = randomConfig({
  seq_len: 9, vocab_size: 7, hidden_size: 24, num_heads: 2, halt_max_steps: 6, L_layers: 2,
  puzzle_emb_ndim: 24, puzzle_emb_len: 1, num_puzzle_identifiers: 5,
});
const dims = modelDimensions(config);
const weights = randomWeights(config, { seed: 11, qHeadStd: 1 / Math.sqrt(24), puzzleEmbStd: 0.5 });
const model = createModel(config, weights, { threads: 2 });
const B = 8, S = config.seq_len, V = config.vocab_size;
const inputs = Int32Array.from({ length: B * S }, (_, i) => (i * 3 + (i >> 2)) % V);
const puzzleIdentifiers = Int32Array.from({ length: B }, (_, b) => b % 5);

let stepCalls: number[] = [];
const nativeStep: StepFunction = async (a) => {
  stepCalls.push(a.batch);
  const r = model.inferSync(
    { inputs: a.inputs, puzzleIdentifiers: a.puzzleIdentifiers, carry: { zH: a.zH, zL: a.zL } },
    { maxSteps: 1, returnCarry: true },
  );
  return { zH: r.carry!.zH, zL: r.carry!.zL, logits: r.logits, qHalt: r.qHalt, qContinue: r.qContinue };
};

function hostLoop(input: InferInput, options: InferOptions): Promise<BackendResult> {
  const request = { ...normalizeInput(input, config, dims), ...normalizeOptions(options, config) };
  return runActLoop(request, {
    seqLen: S, vocab: V, totalLen: dims.totalLen, hidden: config.hidden_size,
    hInit: weights['inner.H_init'], lInit: weights['inner.L_init'],
  }, nativeStep);
}

function expectSame(host: BackendResult, native: InferResult): void {
  for (const key of ['steps', 'stoppedBy', 'predictions', 'logits', 'qHalt', 'qContinue'] as const) expect(host[key]).toEqual(native[key]);
  expect(host.trace === undefined).toBe(native.trace === undefined);
  if (native.trace) {
    expect(host.trace!.length).toBe(native.trace.length);
    native.trace.forEach((rec, i) => {
      const h = host.trace![i];
      for (const key of ['step', 'halted', 'stoppedBy', 'changed', 'qHalt', 'qContinue', 'haltProbability'] as const) expect(h[key]).toEqual(rec[key]);
      for (let b = 0; b < B; b++) expect(h.confidence[b]).toBeCloseTo(rec.confidence[b], 6);
      expect(h.logits === undefined).toBe(rec.logits === undefined);
      if (rec.logits) expect(h.logits).toEqual(rec.logits);
    });
  }
  expect(host.carry === undefined).toBe(native.carry === undefined);
  if (native.carry) {
    expect(host.carry!.zH).toEqual(native.carry.zH);
    expect(host.carry!.zL).toEqual(native.carry.zL);
  }
}

describe('shared ACT loop mirrors the native loop', () => {
  const fixed = model.inferSync({ inputs, puzzleIdentifiers }, { maxSteps: 6, trace: true });
  const sorted = Array.from(fixed.trace![1].haltProbability).sort((a, b) => a - b);
  const threshold = (sorted[3] + sorted[4]) / 2;
  const confidence = pickThreshold(fixed.trace!.map((rec) => Array.from(rec.confidence)), B);

  it('the confidence threshold sits away from the values it decides on', () => {
    expect(confidence.margin).toBeGreaterThan(MIN_STOP_MARGIN);
  });

  it.each([
    { name: 'fixed steps', options: { maxSteps: 4 } },
    { name: 'adaptive, trace with logits, carry', options: { haltThreshold: threshold, maxSteps: 6, trace: 'logits' as const, returnCarry: true } },
    { name: 'adaptive from minSteps 2', options: { haltThreshold: threshold, minSteps: 2, maxSteps: 7, trace: true, returnCarry: true } },
    { name: 'threshold 0 halts all at step 1', options: { haltThreshold: 0, trace: 'logits' as const } },
    { name: 'confidence', options: { confidenceThreshold: confidence.threshold, maxSteps: 6, trace: true, returnCarry: true } },
    { name: 'stable predictions', options: { stableSteps: 1, maxSteps: 8, trace: true, returnCarry: true } },
    { name: 'every rule from minSteps 2', options: { haltThreshold: threshold, confidenceThreshold: confidence.threshold, stableSteps: 1, minSteps: 2, maxSteps: 7, trace: true } },
  ])('$name', async ({ options }) => {
    stepCalls = [];
    const host = await hostLoop({ inputs, puzzleIdentifiers }, options);
    const native = model.inferSync({ inputs, puzzleIdentifiers }, options);
    expectSame(host, native);
    // Compaction: each step runs exactly the samples that have not halted.
    const expectedBatches = Array.from({ length: Math.max(...native.steps) }, (_, s) => native.steps.filter((n) => n > s).length);
    expect(stepCalls).toEqual(expectedBatches);
  });

  it('halting really varies, so the adaptive cases above exercise compaction', async () => {
    const r = model.inferSync({ inputs, puzzleIdentifiers }, { haltThreshold: threshold, maxSteps: 6 });
    expect(new Set(r.steps).size).toBeGreaterThan(1);
    // Likewise the other rules stop some samples, not all, so the cases above compact too.
    const byConfidence = model.inferSync({ inputs, puzzleIdentifiers }, { confidenceThreshold: confidence.threshold, maxSteps: 6 });
    expect(new Set(byConfidence.steps).size).toBeGreaterThan(1);
    const byStable = model.inferSync({ inputs, puzzleIdentifiers }, { stableSteps: 1, maxSteps: 8 });
    expect(new Set(byStable.stoppedBy)).toEqual(new Set(['stable', 'maxSteps']));
  });

  it('resumes from a request carry', async () => {
    const first = model.inferSync({ inputs, puzzleIdentifiers }, { maxSteps: 2, returnCarry: true });
    const options = { haltThreshold: threshold, maxSteps: 3, trace: 'logits' as const, returnCarry: true };
    const host = await hostLoop({ inputs, puzzleIdentifiers, carry: first.carry }, options);
    expectSame(host, model.inferSync({ inputs, puzzleIdentifiers, carry: first.carry }, options));
  });
});
