/**
 * The onnx backend (exported step graph on onnxruntime, the TypeScript ACT loop) against
 * the official code's own outputs (../shared/golden). One-step parity: each step is entered
 * from the golden carry, as the golden README prescribes; all steps run in one infer call,
 * sample block s entering step s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createOnnxModel } from '../../lib';
import { readModelDirectory } from '../../lib/model/directory';
import { GOLDEN_NAMES, everyStepBatch, loadGolden, maxAbsError, relativeError } from '../helpers/golden';

// The acceptance bound, norm-wise relative, the same as the native backend's.
const TOLERANCE = 1e-4;


/** Largest elementwise |got - ref| / max(|ref|, 1e-3 * max|ref|): a per-element view beside the norm-wise one. */
function maxElementRelative(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  let max = 0;
  for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(got[i] - ref[i]) / Math.max(Math.abs(ref[i]), 1e-3 * scale));
  return max;
}

type Quantity = 'logits' | 'qHalt' | 'qContinue' | 'zH' | 'zL';
const table: string[] = [];

afterAll(() => {
  console.log(['onnx backend vs golden, worst over all steps (rel = norm-wise relative, the bound; elem = elementwise relative)',
    'case                  quantity    max abs     rel (<1e-4)  elem rel', ...table].join('\n'));
});

describe.each(GOLDEN_NAMES)('onnx backend, golden %s', (name) => {
  it('one-step parity from the golden carry at every step', async () => {
    const golden = loadGolden(name);
    const { config, weights } = readModelDirectory(golden.dir);
    const { batch: B, steps: S } = golden;
    const model = await createOnnxModel(config, weights, { threads: 2 });
    // All S steps in one call: sample block s enters step s from the golden carry.
    const r = await model.infer(
      everyStepBatch(golden),
      { maxSteps: 1, returnCarry: true },
    );
    expect(Array.from(r.steps)).toEqual(new Array(S * B).fill(1));
    const logitsPer = golden.logits[0].length, carryPer = golden.zH[0].length;
    const worst: Record<Quantity, { abs: number; rel: number; elem: number }> = {
      logits: { abs: 0, rel: 0, elem: 0 }, qHalt: { abs: 0, rel: 0, elem: 0 }, qContinue: { abs: 0, rel: 0, elem: 0 },
      zH: { abs: 0, rel: 0, elem: 0 }, zL: { abs: 0, rel: 0, elem: 0 },
    };
    for (let s = 0; s < S; s++) {
      const pairs: Record<Quantity, [Float32Array, Float32Array]> = {
        logits: [r.logits.subarray(s * logitsPer, (s + 1) * logitsPer), golden.logits[s]],
        qHalt: [r.qHalt.subarray(s * B, (s + 1) * B), golden.qHalt[s]],
        qContinue: [r.qContinue.subarray(s * B, (s + 1) * B), golden.qContinue[s]],
        zH: [r.carry!.zH.subarray(s * carryPer, (s + 1) * carryPer), golden.zH[s + 1]],
        zL: [r.carry!.zL.subarray(s * carryPer, (s + 1) * carryPer), golden.zL[s + 1]],
      };
      for (const [k, [got, ref]] of Object.entries(pairs) as [Quantity, [Float32Array, Float32Array]][]) {
        worst[k].abs = Math.max(worst[k].abs, maxAbsError(got, ref));
        worst[k].rel = Math.max(worst[k].rel, relativeError(got, ref));
        worst[k].elem = Math.max(worst[k].elem, maxElementRelative(got, ref));
      }
    }
    for (const [k, w] of Object.entries(worst)) {
      table.push(`${name.padEnd(22)}${k.padEnd(12)}${w.abs.toExponential(2).padEnd(12)}${w.rel.toExponential(2).padEnd(13)}${w.elem.toExponential(2)}`);
    }
    for (const w of Object.values(worst)) expect(w.rel).toBeLessThan(TOLERANCE);
    model.dispose();
  });
});
