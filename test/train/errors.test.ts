/**
 * Bad training input gets a typed error naming the field, never a crash, at both layers:
 * the TypeScript API (computeGradients, GradientEngine) and the native handle itself when
 * a caller bypasses the TypeScript checks.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, computeGradients, computeGradientsSync, createModel, GradientEngine, InputError, ModelFormatError, OptionError } from '../../lib';
import { nativeSpec } from '../../lib/backends/native';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { loadAddon } from '../../lib/native/addon';
import { expectThrows, thrown } from '../helpers/errors';

const config = randomConfig({ seq_len: 6, vocab_size: 5, hidden_size: 16, num_heads: 2, puzzle_emb_ndim: 16, puzzle_emb_len: 1, num_puzzle_identifiers: 3 });
const weights = randomWeights(config, { seed: 3, puzzleEmbStd: 0.25 });
const model = createModel(config, weights, { threads: 2, gradients: true });
const inputs = Int32Array.from({ length: 2 * 6 }, (_, i) => i % 5);
const labels = Int32Array.from({ length: 2 * 6 }, (_, i) => (i % 3 === 0 ? -100 : (i + 1) % 5));
const carrySize = 2 * 7 * 16;
const baseline = computeGradientsSync(model, { inputs, labels });

function rejects(fn: () => unknown, type: new (...a: never[]) => Error, field: string | RegExp): void {
  expectThrows(fn, type, field);
  // The model is unharmed: the same call still gives the same answer.
  expect(computeGradientsSync(model, { inputs, labels }).loss).toBe(baseline.loss);
}

describe('computeGradients input checks', () => {
  const cases: Array<[string, unknown, string]> = [
    ['labels missing', { inputs }, 'labels'],
    ['labels of the wrong length', { inputs, labels: new Int32Array(7) }, 'labels'],
    ['a label above the vocabulary', { inputs, labels: Int32Array.from(labels, (l, i) => (i === 8 ? 5 : l)) }, 'labels[1][2]'],
    ['a negative label other than -100', { inputs, labels: Int32Array.from(labels, (l, i) => (i === 1 ? -1 : l)) }, 'labels[0][1]'],
    ['label rows of the wrong count', { inputs, labels: [[0, 1, 2, 3, 4, 0]] }, 'labels'],
    ['a label row of the wrong length', { inputs, labels: [[0, 1, 2, 3, 4, 0], [0, 1]] }, 'labels[1]'],
    ['a non-integer label', { inputs, labels: [[0, 1, 2, 3, 4, 0], [0, 1, 2.5, 3, 4, 0]] }, 'labels[1][2]'],
    ['labels of the wrong type', { inputs, labels: 'abc' }, 'labels'],
    ['a token outside the vocabulary', { inputs: Int32Array.from(inputs, (t, i) => (i === 7 ? 9 : t)), labels }, 'inputs[1][1]'],
    ['puzzle id out of range', { inputs, labels, puzzleIdentifiers: [0, 3] }, 'puzzleIdentifiers[1]'],
    ['carry of the wrong size', { inputs, labels, carry: { zH: new Float32Array(10), zL: new Float32Array(10) } }, 'carry.zH'],
    ['carry half missing', { inputs, labels, carry: { zH: new Float32Array(carrySize) } }, 'carry.zL'],
    ['carry with NaN', { inputs, labels, carry: { zH: new Float32Array(carrySize).fill(NaN), zL: new Float32Array(carrySize) } }, 'carry.zH[0]'],
    ['an unknown batch field', { inputs, labels, target: labels }, 'target'],
  ];
  it.each(cases)('%s -> InputError', (_label, batch, field) => {
    rejects(() => computeGradientsSync(model, batch as never), InputError, field);
  });

  it('rejects asynchronously too', async () => {
    await expect(computeGradients(model, { inputs, labels: new Int32Array(3) })).rejects.toBeInstanceOf(InputError);
  });

  it('a disposed model -> BackendError naming the model', () => {
    const m = createModel(config, weights, { threads: 1, gradients: true });
    m.dispose();
    expectThrows(() => computeGradientsSync(m, { inputs, labels }), BackendError, 'model');
  });

  it('a model loaded without { gradients: true } keeps no weights for them -> OptionError naming gradients', () => {
    const m = createModel(config, weights, { threads: 1 });
    expectThrows(() => computeGradientsSync(m, { inputs, labels }), OptionError, 'gradients');
    // It still answers: refusing gradients changed nothing in the model.
    expect(m.inferSync({ inputs }).predictions).toEqual(model.inferSync({ inputs }).predictions);
    m.dispose();
  });

  it('something that is not a model -> BackendError', () => {
    expect(() => computeGradientsSync({} as never, { inputs, labels })).toThrow(BackendError);
  });
});

describe('GradientEngine checks', () => {
  it('a weight map that does not fit the config -> ModelFormatError', () => {
    const { ['inner.lm_head.weight']: _dropped, ...missing } = weights;
    expect(() => GradientEngine.create(config, missing)).toThrow(ModelFormatError);
    const wrong = { ...weights, 'inner.q_head.bias': new Float32Array(3) };
    expect(() => GradientEngine.create(config, wrong)).toThrow(ModelFormatError);
  });

  it('bad options -> OptionError', () => {
    expect(() => GradientEngine.create(config, weights, { threads: 0 })).toThrow(OptionError);
    expect(() => GradientEngine.create(config, weights, { isa: 'mmx' as never })).toThrow(OptionError);
    expect(() => GradientEngine.create({ ...config, no_ACT_continue: false }, weights)).toThrow(OptionError);
  });

  it('unknown tensors, and gradients of buffers, are refused', () => {
    const engine = GradientEngine.create(config, weights, { threads: 1 });
    expect(() => engine.parameter('inner.nope')).toThrow(BackendError);
    expect(() => engine.gradient('inner.H_init')).toThrow(BackendError);
    expect(() => engine.gradient('inner.puzzle_emb.weights')).toThrow(BackendError);
    engine.dispose();
  });

  it('a disposed engine -> BackendError, and its views stay readable', () => {
    const engine = GradientEngine.create(config, weights, { threads: 1 });
    engine.stepSync({ inputs, labels });
    const grad = engine.gradient('inner.lm_head.weight');
    const copy = grad.slice();
    engine.dispose();
    expect(() => engine.stepSync({ inputs, labels })).toThrow(BackendError);
    expect(() => engine.gradient('inner.lm_head.weight')).toThrow(BackendError);
    expect(grad).toEqual(copy);
  });
});

describe('the native handle without the TypeScript checks', () => {
  const addon = loadAddon();
  const handle = new addon.GradientEngine(nativeSpec(config), weights, { threads: 1 });
  const expectCode = (fn: () => unknown, code: string): void => {
    expect((thrown(fn) as { code?: string }).code).toBe(code);
  };

  it('rejects wrong lengths and values with TRM_INPUT', () => {
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels: new Int32Array(11) }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 3, inputs, labels }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels: Int32Array.from(labels, () => 5) }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels: Int32Array.from(labels, () => -7) }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels, puzzleIdentifiers: Int32Array.from([0, 9]) }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels, carryZH: new Float32Array(carrySize) }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels, carryZH: new Float32Array(3), carryZL: new Float32Array(3) }), 'TRM_INPUT');
    expectCode(() => handle.stepSync({ batch: 0, inputs: new Int32Array(0), labels: new Int32Array(0) }), 'TRM_INPUT');
  });

  it('rejects arguments of the wrong type with TRM_ARGUMENT', () => {
    expectCode(() => handle.stepSync({ batch: 2, inputs: Array.from(inputs), labels } as never), 'TRM_ARGUMENT');
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels: Float32Array.from(labels) } as never), 'TRM_ARGUMENT');
    expectCode(() => handle.parameter(7 as never), 'TRM_ARGUMENT');
  });

  it('still computes the same step afterwards', () => {
    handle.zeroGradients();
    const r = handle.stepSync({ batch: 2, inputs, labels, puzzleIdentifiers: new Int32Array(2) });
    expect(r.loss).toBe(baseline.loss);
    handle.dispose();
    expectCode(() => handle.stepSync({ batch: 2, inputs, labels }), 'TRM_DISPOSED');
  });
});
