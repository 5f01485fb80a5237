/**
 * The native operator against the official code's own outputs (../shared/golden), on every
 * ISA this machine runs. One-step parity: each step is entered from the golden carry, as the
 * golden README prescribes (the recursion is chaotic on random weights, so whole runs are
 * compared only over their first two steps).
 */
import { describe, expect, it } from 'vitest';
import { createModel, supportedIsas } from '../../lib';
import { readModelDirectory } from '../../lib/model/directory';
import { GOLDEN_NAMES, everyStepBatch, loadGolden, relativeError } from '../helpers/golden';

// The acceptance bound; a correct float32 implementation lands near 5e-5 at worst.
const TOLERANCE = 1e-4;
// Whole runs at step 2 have already amplified float32 rounding: the golden README measures
// the official code's own float32 and float64 runs 4e-4 apart there for mlp_t models.
const SECOND_STEP_TOLERANCE_MLP_T = 2e-3;


describe.each(GOLDEN_NAMES)('golden %s', (name) => {
  const golden = loadGolden(name);
  const { config, weights } = readModelDirectory(golden.dir);
  const { batch: B, steps: S } = golden;

  it.each(supportedIsas())('one-step parity from the golden carry at every step (%s)', (isa) => {
    const model = createModel(config, weights, { isa: isa as 'scalar', threads: 2 });
    // All S steps in one call: sample block s enters step s from the golden carry.
    const r = model.inferSync(
      everyStepBatch(golden),
      { maxSteps: 1, returnCarry: true },
    );
    const worst = { logits: 0, qHalt: 0, qContinue: 0, zH: 0, zL: 0 };
    const logitsPer = golden.logits[0].length, carryPer = golden.zH[0].length;
    for (let s = 0; s < S; s++) {
      const errors = {
        logits: relativeError(r.logits.subarray(s * logitsPer, (s + 1) * logitsPer), golden.logits[s]),
        qHalt: relativeError(r.qHalt.subarray(s * B, (s + 1) * B), golden.qHalt[s]),
        qContinue: relativeError(r.qContinue.subarray(s * B, (s + 1) * B), golden.qContinue[s]),
        zH: relativeError(r.carry!.zH.subarray(s * carryPer, (s + 1) * carryPer), golden.zH[s + 1]),
        zL: relativeError(r.carry!.zL.subarray(s * carryPer, (s + 1) * carryPer), golden.zL[s + 1]),
      };
      for (const k of Object.keys(worst) as (keyof typeof worst)[]) worst[k] = Math.max(worst[k], errors[k]);
    }
    console.log(`golden ${name} [${isa}] worst relative error over ${S} steps: ` +
      Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', '));
    for (const v of Object.values(worst)) expect(v).toBeLessThan(TOLERANCE);
    model.dispose();
  });

  it('whole run from the initial carry matches the first two steps', () => {
    const model = createModel(config, weights, { threads: 2 });
    const r = model.inferSync({ inputs: golden.inputs, puzzleIdentifiers: golden.puzzleIdentifiers }, { maxSteps: 2, trace: 'logits' });
    expect(r.trace).toHaveLength(2);
    for (let s = 0; s < 2; s++) {
      const logitsError = relativeError(r.trace![s].logits!, golden.logits[s]);
      const qError = relativeError(r.trace![s].qHalt, golden.qHalt[s]);
      console.log(`golden ${name} whole run step ${s + 1}: logits ${logitsError.toExponential(2)}, q_halt ${qError.toExponential(2)}`);
      const bound = s === 1 && config.mlp_t ? SECOND_STEP_TOLERANCE_MLP_T : TOLERANCE;
      expect(logitsError).toBeLessThan(bound);
      expect(qError).toBeLessThan(bound);
    }
    model.dispose();
  });
});
