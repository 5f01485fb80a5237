/**
 * Per-model caps for services (load options maxBatch, maxStepsLimit): a call over a cap is a
 * LimitError naming the field, the value and the cap, raised before any work, on every
 * backend path (async, sync); the model answers as before afterwards.
 */
import { describe, expect, it } from 'vitest';
import { createModel, LimitError, OptionError, randomConfig, randomWeights } from '../../lib';

const config = randomConfig({ seq_len: 4, vocab_size: 5, hidden_size: 16, num_heads: 2, halt_max_steps: 3 });
const weights = randomWeights(config, { seed: 2 });
const model = createModel(config, weights, { threads: 1, maxBatch: 3, maxStepsLimit: 5 });
const tokens = (samples: number) => Int32Array.from({ length: samples * 4 }, (_, i) => i % 5);
const baseline = model.inferSync({ inputs: tokens(3) });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('maxBatch', () => {
  it('allows the cap, refuses one more sample in either input form, sync and async', async () => {
    expect(model.inferSync({ inputs: tokens(3) }).batch).toBe(3);
    for (const inputs of [tokens(4), Array.from({ length: 4 }, () => [0, 1, 2, 3])]) {
      const e = thrown(() => model.inferSync({ inputs }));
      expect(e).toBeInstanceOf(LimitError);
      expect(e).toMatchObject({ field: 'inputs', value: 4, limit: 3, option: 'maxBatch' });
      expect((e as Error).message).toBe('too many samples for one call; field: inputs; got: 4; expected: at most 3 samples (load option maxBatch)');
      await expect(model.infer({ inputs })).rejects.toBeInstanceOf(LimitError);
    }
    expect(model.inferSync({ inputs: tokens(3) }).logits).toEqual(baseline.logits);
  });

  it('is checked before the tokens are read: a huge call with bad tokens is refused for its size', () => {
    const huge = new Int32Array(4 * 100_000).fill(99);
    expect(thrown(() => model.inferSync({ inputs: huge }))).toMatchObject({ field: 'inputs', value: 100_000, limit: 3 });
  });

  it('defaults to no cap; the model says its limits', () => {
    const open = createModel(config, weights, { threads: 1 });
    expect(open.limits).toEqual({ maxBatch: Infinity, maxStepsLimit: 1_000_000 });
    expect(model.limits).toEqual({ maxBatch: 3, maxStepsLimit: 5 });
    expect(open.inferSync({ inputs: tokens(10) }).batch).toBe(10);
  });
});

describe('maxStepsLimit', () => {
  it('allows the cap, refuses one more step', async () => {
    expect(Array.from(model.inferSync({ inputs: tokens(1) }, { maxSteps: 5 }).steps)).toEqual([5]);
    const e = thrown(() => model.inferSync({ inputs: tokens(1) }, { maxSteps: 6 }));
    expect(e).toBeInstanceOf(LimitError);
    expect(e).toMatchObject({ field: 'maxSteps', value: 6, limit: 5, option: 'maxStepsLimit' });
    await expect(model.infer({ inputs: tokens(1) }, { maxSteps: 6 })).rejects.toBeInstanceOf(LimitError);
  });

  it('may not be below the model\'s halt_max_steps (every default call would fail)', () => {
    expect(thrown(() => createModel(config, weights, { maxStepsLimit: 2 }))).toMatchObject({ field: 'maxStepsLimit', value: 2 });
    expect(thrown(() => createModel(config, weights, { maxStepsLimit: 2 }))).toBeInstanceOf(OptionError);
  });
});

describe('load option values', () => {
  it.each([
    ['maxBatch', 0], ['maxBatch', 1.5], ['maxBatch', '8'], ['maxBatch', 2 ** 31], ['maxStepsLimit', 0], ['maxStepsLimit', 1_000_001], ['maxStepsLimit', NaN],
  ])('%s = %s is an OptionError', (field, value) => {
    const e = thrown(() => createModel(config, weights, { [field]: value } as never));
    expect(e).toBeInstanceOf(OptionError);
    expect(e).toMatchObject({ field, value });
  });
});
