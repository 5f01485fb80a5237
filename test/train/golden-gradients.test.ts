/**
 * computeGradients against the official PyTorch training loss and backward
 * (../shared/golden/<case>/grad.safetensors): for each recorded ACT step, entered from the
 * golden carry z_H[s], z_L[s], the loss parts, seq_correct and the gradient of every
 * trained parameter. The set of gradient names must equal the golden's exactly.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeGradientsSync, loadModel, supportedIsas } from '../../lib';
import { readSafetensors } from '../../lib/model/safetensors';
import { GOLDEN_NAMES, loadGolden, relativeError } from '../helpers/golden';

/**
 * Norm-wise relative error, per gradient tensor and per loss part. The golden README puts a
 * correct float32 forward within ~5e-5 of the golden's outputs; the gradients are one
 * backward further, through the same float32 rounding.
 */
const TOLERANCE = 1e-4;

interface GoldenStep {
  step: number;
  loss: Float64Array;
  seqCorrect: Int32Array;
  grads: Map<string, Float32Array>;
}

function loadGradSteps(dir: string): { labels: Int32Array; steps: GoldenStep[] } {
  const st = readSafetensors(path.join(dir, 'grad.safetensors'));
  const steps = new Map<number, GoldenStep>();
  for (const name of st.names()) {
    const m = /^step(\d+)\.(loss|seq_correct|grad\.(.+))$/.exec(name);
    if (!m) continue;
    const s = Number(m[1]);
    if (!steps.has(s)) steps.set(s, { step: s, loss: new Float64Array(0), seqCorrect: new Int32Array(0), grads: new Map() });
    const entry = steps.get(s)!;
    if (m[2] === 'loss') entry.loss = st.toFloat64(name);
    else if (m[2] === 'seq_correct') entry.seqCorrect = st.toInt32(name);
    else entry.grads.set(m[3], st.toFloat32(name));
  }
  return { labels: st.toInt32('labels'), steps: [...steps.values()].sort((a, b) => a.step - b.step) };
}

describe.each(GOLDEN_NAMES)('gradients vs official golden: %s', (name) => {
  const golden = loadGolden(name);
  const { labels, steps } = loadGradSteps(golden.dir);

  // The scalar table is the reference; the best SIMD table is what training will run.
  const isas = [...new Set(['scalar', supportedIsas()[0]])];
  it.each(isas)('loss, seq_correct and every gradient at each recorded step (%s)', async (isa) => {
    // Loaded from the directory as a user would: prefixed names, BF16 tensors and all.
    const model = await loadModel(golden.dir, { isa: isa as 'scalar', threads: 2, gradients: true });
    const rows: string[] = [];
    let worst = { error: 0, where: '' };
    for (const g of steps) {
      const r = computeGradientsSync(model, {
        inputs: golden.inputs,
        labels,
        puzzleIdentifiers: golden.puzzleIdentifiers,
        carry: { zH: golden.zH[g.step], zL: golden.zL[g.step] },
      });
      expect(Object.keys(r.grads).sort()).toEqual([...g.grads.keys()].sort());
      expect(Array.from(r.seqCorrect)).toEqual(Array.from(g.seqCorrect));
      const lossErrors = [r.loss, r.lmLoss, r.qHaltLoss].map((v, i) => Math.abs(v - g.loss[i]) / Math.abs(g.loss[i]));
      rows.push(`step ${g.step}: loss ${r.loss.toFixed(6)} (golden ${g.loss[0].toFixed(6)}), rel err total/lm/q_halt ` +
        lossErrors.map((e) => e.toExponential(1)).join(' / ') + `, seq_correct [${Array.from(r.seqCorrect)}]`);
      for (const e of lossErrors) expect(e).toBeLessThan(TOLERANCE);
      for (const [tensor, ref] of g.grads) {
        const error = relativeError(r.grads[tensor], ref);
        rows.push(`  ${error.toExponential(2).padStart(9)}  ${tensor}`);
        if (!(error <= worst.error)) worst = { error, where: `step ${g.step} ${tensor}` };
        expect(error, `step ${g.step} ${tensor}`).toBeLessThan(TOLERANCE);
      }
    }
    console.log(`golden gradients ${name} [${isa}] (relative error, tolerance ${TOLERANCE.toExponential(0)})\n${rows.join('\n')}\n` +
      `  worst: ${worst.error.toExponential(2)} at ${worst.where}`);
    model.dispose();
  });
});
