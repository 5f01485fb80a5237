/**
 * The native gradients against central finite differences of the official loss, on tiny
 * random models covering every parameter kind: attention + RoPE, learned positions, mlp_t
 * token mixing, each with a puzzle prefix. The loss for the differences comes from the
 * independent float64 TypeScript oracle (test/oracle), not from the float32 engine, so the
 * differences are precise to ~1e-10 and what they measure is the engine's gradient.
 *
 * The official step differentiates only its last H cycle: the first H_cycles - 1 run under
 * torch.no_grad, so a weight's effect through them is not part of the gradient. The loss
 * differenced here is therefore that of the last H cycle with shifted weights, entered from
 * the carry the first H_cycles - 1 cycles reach with the weights unshifted (the oracle run
 * with H_cycles - 1 cycles, then with 1).
 *
 * For each tensor two directions are checked:
 *  - along the engine's own gradient g (v = g / ||g||): the difference must equal ||g||,
 *    which catches a wrong scale or sign of the whole tensor's gradient;
 *  - along a random direction v: the difference must equal g . v, which catches errors
 *    orthogonal to g (a missing or misplaced contribution) that the first check cannot see.
 *    Its error is measured against ||g|| / sqrt(n), the size g . v typically has for a
 *    random unit v, so a tensor of n elements is not judged against a scale n times too lax.
 */
import { describe, expect, it } from 'vitest';
import { computeGradientsSync, createModel } from '../../lib';
import type { TrmConfig } from '../../lib/model/config';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { SeededRandom } from '../../lib/util/seeded-random';
import type { WeightMap } from '../../lib/model/weights';
import { referenceStep } from '../oracle/reference';
import { IGNORE_LABEL_ID, referenceStepLoss } from '../oracle/training-loss';

/**
 * The float32 engine's gradients sit ~1e-6..1e-5 (relative) from the exact ones (measured
 * against the official golden gradients: worst 4e-5 on the chaotic mlp_t recursion, ~5e-6
 * otherwise). The central differences add truncation error O(h^2): at h = 1e-3 it reached
 * 5e-4 along the large mlp_t gradients, at h = 1e-4 it is ~100x smaller; their float64
 * rounding stays near 1e-10. 1e-3 leaves a wide margin over both, while any real error of
 * the backward (a missing term, a wrong scale, a transposed index) shows up at 1e-2 or far
 * above (differencing through all H cycles instead of the last, for instance, gives 5e-2..0.5).
 */
const TOLERANCE = 1e-3;
/** Step of the central difference along a unit direction. */
const H = 1e-4;

const BASE: Partial<TrmConfig> = { seq_len: 6, vocab_size: 5, expansion: 2, H_cycles: 2, L_cycles: 2 };

const CASES: Array<[string, Partial<TrmConfig>]> = [
  ['attention + RoPE, 2 layers, puzzle_emb_ndim 20 over hidden 16 (2 prefix rows, zero-padded)',
    { hidden_size: 16, num_heads: 2, pos_encodings: 'rope', L_layers: 2, puzzle_emb_ndim: 20, puzzle_emb_len: 0, num_puzzle_identifiers: 4 }],
  ['attention + learned positions, 3 heads, 2-row puzzle prefix',
    { hidden_size: 24, num_heads: 3, pos_encodings: 'learned', L_layers: 1, puzzle_emb_ndim: 24, puzzle_emb_len: 2, num_puzzle_identifiers: 3 }],
  ['mlp_t token mixing, no positions, 2 layers, 1-row puzzle prefix',
    { hidden_size: 16, num_heads: 2, pos_encodings: 'none', mlp_t: true, L_layers: 2, puzzle_emb_ndim: 16, puzzle_emb_len: 1, num_puzzle_identifiers: 3 }],
];

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe.each(CASES)('finite differences: %s', (_label, overrides) => {
  const config = randomConfig({ ...BASE, ...overrides });
  // A q head with random weights so the halting loss has a gradient; nonzero puzzle embeddings.
  const weights = randomWeights(config, { seed: 11, qHeadStd: 0.3, puzzleEmbStd: 0.5 });
  const B = 3;
  const S = config.seq_len;
  const rng = new SeededRandom(5, 'fd-batch');
  const inputs = Int32Array.from({ length: B * S }, () => rng.nextU32() % config.vocab_size);
  // Sample 0 and 2 share an identifier: their puzzle gradients must be summed.
  const puzzleIdentifiers = Int32Array.from([1, 2, 1]);

  it('every trained tensor and the used puzzle embedding rows', () => {
    const model = createModel(config, weights, { threads: 2, gradients: true });
    // A carry from one real step, so the step checked starts from a state that is not broadcast.
    const carry = model.inferSync({ inputs, puzzleIdentifiers }, { maxSteps: 1, returnCarry: true }).carry!;
    const probe = computeGradientsSync(model, { inputs, puzzleIdentifiers, carry, labels: new Int32Array(B * S).fill(IGNORE_LABEL_ID) });
    // Sample 0 is labelled with its own predictions (halting target 1), sample 1 with random
    // tokens and one ignored position, sample 2 not at all (the official code counts it correct).
    const labels = new Int32Array(B * S).fill(IGNORE_LABEL_ID);
    for (let t = 0; t < S; t++) {
      labels[t] = probe.predictions[t];
      labels[S + t] = t === 2 ? IGNORE_LABEL_ID : rng.nextU32() % config.vocab_size;
    }
    const r = computeGradientsSync(model, { inputs, puzzleIdentifiers, carry, labels });
    model.dispose();

    const base: Record<string, Float64Array> = {};
    for (const [name, w] of Object.entries(weights)) base[name] = Float64Array.from(w);
    // The no-grad cycles, once, with the weights as they are.
    const detached = referenceStep({ ...config, H_cycles: config.H_cycles - 1 }, base,
      { inputs, puzzleIdentifiers, zH: Float64Array.from(carry.zH), zL: Float64Array.from(carry.zL) });
    const lastCycle = { ...config, H_cycles: 1 };
    const oracleBatch = { inputs, puzzleIdentifiers, zH: detached.zH, zL: detached.zL };
    const lossWith = (name: string, v: Float64Array, h: number): number => {
      const w = base[name];
      const shifted = new Float64Array(w.length);
      for (let i = 0; i < w.length; i++) shifted[i] = w[i] + h * v[i];
      return referenceStepLoss(lastCycle, { ...base, [name]: shifted }, oracleBatch, labels).total;
    };

    const reference = referenceStepLoss(lastCycle, base, oracleBatch, labels);
    expect(Array.from(r.seqCorrect)).toEqual(reference.seqCorrect.map(Number));
    expect(Array.from(r.seqCorrect)).toEqual([1, 0, 1]);
    expect(Math.abs(r.loss - reference.total) / reference.total).toBeLessThan(1e-5);

    // The puzzle embedding's gradient comes back per used identifier; spread it over the table.
    const grads: Record<string, ArrayLike<number>> = { ...r.grads };
    const ndim = config.puzzle_emb_ndim;
    const puzzleGrad = new Float64Array(config.num_puzzle_identifiers * ndim);
    expect(Array.from(r.puzzleEmbGrad!.ids)).toEqual([1, 2]);
    r.puzzleEmbGrad!.ids.forEach((id, i) => puzzleGrad.set(r.puzzleEmbGrad!.grad.subarray(i * ndim, (i + 1) * ndim), id * ndim));
    grads['inner.puzzle_emb.weights'] = puzzleGrad;
    const expectedNames = Object.keys(weights).filter((n) => n !== 'inner.H_init' && n !== 'inner.L_init').sort();
    expect(Object.keys(grads).sort()).toEqual(expectedNames);

    const rows: string[] = [];
    let worst = 0;
    for (const name of Object.keys(grads).sort()) {
      const g = Float64Array.from(grads[name]);
      const n = g.length;
      const gNorm = norm(g);
      expect(gNorm, `${name} has a zero gradient`).toBeGreaterThan(0);
      const along = g.map((x) => x / gNorm);
      const fdAlong = (lossWith(name, along, H) - lossWith(name, along, -H)) / (2 * H);
      const errAlong = Math.abs(fdAlong - gNorm) / gNorm;

      const dirRng = new SeededRandom(17, name);
      const random = new Float64Array(n).map(() => dirRng.normal());
      const rNorm = norm(random);
      for (let i = 0; i < n; i++) random[i] /= rNorm;
      const fdRandom = (lossWith(name, random, H) - lossWith(name, random, -H)) / (2 * H);
      const errRandom = Math.abs(fdRandom - dot(g, random)) / (gNorm / Math.sqrt(n));

      worst = Math.max(worst, errAlong, errRandom);
      rows.push(`${errAlong.toExponential(1).padStart(8)} ${errRandom.toExponential(1).padStart(8)}  ||g|| ${gNorm.toExponential(2)}  n ${String(n).padStart(5)}  ${name}`);
      expect(errAlong, `${name} along g`).toBeLessThan(TOLERANCE);
      expect(errRandom, `${name} along a random direction`).toBeLessThan(TOLERANCE);
    }
    console.log(`finite differences (h ${H}, tolerance ${TOLERANCE}): ${_label}\n   along g   random\n${rows.join('\n')}\n  worst ${worst.toExponential(2)}`);
  });
});
