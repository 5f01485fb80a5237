/**
 * The GradientEngine as a trainer drives it: gradients accumulate across steps and clear on
 * demand, parameter writes reach the next step, a step's forward agrees with inference, the
 * batch's gradient is the sum of its samples' gradients, and the puzzle embedding's gradient
 * is summed per identifier.
 */
import { describe, expect, it } from 'vitest';
import { createModel, GradientEngine, initialCarry } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { SeededRandom } from '../../lib/util/seeded-random';
import { relativeError } from '../helpers/golden';

const config = randomConfig({
  seq_len: 8, vocab_size: 6, hidden_size: 32, num_heads: 4, L_layers: 2, pos_encodings: 'rope',
  puzzle_emb_ndim: 32, puzzle_emb_len: 1, num_puzzle_identifiers: 4,
});
const weights = randomWeights(config, { seed: 21, qHeadStd: 0.2, puzzleEmbStd: 0.3 });
const B = 3;
const rng = new SeededRandom(8, 'engine-test');
const inputs = Int32Array.from({ length: B * config.seq_len }, () => rng.nextU32() % config.vocab_size);
const labels = Int32Array.from(inputs, (t, i) => (i % 4 === 0 ? -100 : (t + 1) % config.vocab_size));
const puzzleIdentifiers = Int32Array.from([3, 1, 3]);
const batch = { inputs, labels, puzzleIdentifiers };
const sample = (b: number) => ({
  inputs: inputs.subarray(b * config.seq_len, (b + 1) * config.seq_len),
  labels: labels.subarray(b * config.seq_len, (b + 1) * config.seq_len),
  puzzleIdentifiers: puzzleIdentifiers.subarray(b, b + 1),
});

/** Float32 sums of the same terms in another order: a few ulps of the largest term. */
const SUM_ORDER_TOLERANCE = 1e-5;

describe('GradientEngine', () => {
  it('lists every tensor, with the trained ones', () => {
    const engine = GradientEngine.create(config, weights, { threads: 2 });
    expect(engine.tensors.map((t) => t.name).sort()).toEqual(Object.keys(weights).sort());
    expect(engine.trainedNames).not.toContain('inner.H_init');
    expect(engine.trainedNames).not.toContain('inner.puzzle_emb.weights');
    expect(engine.trainedNames).toContain('inner.q_head.bias');
    for (const t of engine.tensors) expect(engine.parameter(t.name)).toEqual(weights[t.name]);
    engine.dispose();
  });

  it('accumulates gradients across steps and clears them', async () => {
    const engine = GradientEngine.create(config, weights, { threads: 2 });
    const first = await engine.step(batch);
    const once = engine.copyGradients();
    const second = engine.stepSync(batch);
    expect(second.loss).toBe(first.loss);
    // The same step twice: twice the gradient, up to the order of the float32 additions (the
    // second step adds its per-call terms one by one onto the first step's total).
    for (const name of engine.trainedNames) {
      expect(relativeError(engine.gradient(name), once[name].map((x) => 2 * x)), name).toBeLessThan(SUM_ORDER_TOLERANCE);
    }
    engine.zeroGradients();
    for (const name of engine.trainedNames) expect(engine.gradient(name).every((x) => x === 0)).toBe(true);
    expect(engine.gradient('inner.lm_head.weight')).toBe(engine.gradient('inner.lm_head.weight'));
    engine.dispose();
  });

  it('runs the next step with parameters written through the views', () => {
    const engine = GradientEngine.create(config, weights, { threads: 2 });
    const before = engine.stepSync(batch).loss;
    const w = engine.parameter('inner.L_level.layers.1.mlp.down_proj.weight');
    const saved = w.slice();
    const g = engine.gradient('inner.L_level.layers.1.mlp.down_proj.weight');
    for (let i = 0; i < w.length; i++) w[i] -= 1e-3 * g[i];  // a small step downhill
    const after = engine.stepSync(batch).loss;
    expect(after).toBeLessThan(before);
    w.set(saved);
    expect(engine.stepSync(batch).loss).toBe(before);
    engine.dispose();
  });

  it('agrees with inference on the forward of a step', () => {
    const model = createModel(config, weights, { threads: 2, gradients: true });
    const engine = GradientEngine.fromModel(model);
    const first = model.inferSync({ inputs, puzzleIdentifiers }, { maxSteps: 1, returnCarry: true });
    const step = engine.stepSync(batch);
    // Default carry = H_init / L_init broadcast, as initialCarry builds it.
    const explicit = engine.stepSync({ ...batch, carry: initialCarry(config, weights, B) });
    expect(explicit.loss).toBe(step.loss);
    // Two float32 implementations of the same forward (the engine's RMSNorm is its own).
    expect(relativeError(step.carry.zH, first.carry!.zH)).toBeLessThan(1e-5);
    expect(relativeError(step.carry.zL, first.carry!.zL)).toBeLessThan(1e-5);
    expect(relativeError(step.qHalt, first.qHalt)).toBeLessThan(1e-5);
    expect(step.predictions).toEqual(first.predictions);
    // Chaining: the step's carry enters the next step as inference's would.
    const second = model.inferSync({ inputs, puzzleIdentifiers, carry: first.carry }, { maxSteps: 1 });
    const next = engine.stepSync({ ...batch, carry: step.carry });
    expect(relativeError(next.qHalt, second.qHalt)).toBeLessThan(1e-4);
    model.dispose();
    engine.dispose();
  });

  it('gives a batch the sum of its samples\' losses and gradients, and sums puzzle gradients per id', () => {
    const engine = GradientEngine.create(config, weights, { threads: 2 });
    const whole = engine.stepSync(batch);
    const total = engine.copyGradients();
    engine.zeroGradients();
    const parts = [0, 1, 2].map((b) => engine.stepSync(sample(b)));  // smaller batches after a larger one
    const summed = engine.copyGradients();
    expect(Math.abs(parts.reduce((s, p) => s + p.loss, 0) - whole.loss) / whole.loss).toBeLessThan(1e-6);
    for (const name of engine.trainedNames) expect(relativeError(summed[name], total[name]), name).toBeLessThan(SUM_ORDER_TOLERANCE);

    const ndim = config.puzzle_emb_ndim;
    expect(Array.from(whole.puzzleEmbGrad!.ids)).toEqual([1, 3]);
    const id3 = whole.puzzleEmbGrad!.grad.subarray(ndim, 2 * ndim);
    const id3Parts = parts[0].puzzleEmbGrad!.grad.map((x, i) => x + parts[2].puzzleEmbGrad!.grad[i]);
    expect(relativeError(id3, id3Parts)).toBeLessThan(SUM_ORDER_TOLERANCE);
    expect(relativeError(whole.puzzleEmbGrad!.grad.subarray(0, ndim), parts[1].puzzleEmbGrad!.grad)).toBeLessThan(SUM_ORDER_TOLERANCE);
    engine.dispose();
  });
});
