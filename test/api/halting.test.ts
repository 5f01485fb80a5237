/**
 * Halting and the trace, on a random model whose q_head is not the official zero init (so
 * q_halt varies between samples and steps). Samples never interact in TRM, so a fixed-step
 * run's trace tells exactly when each sample must halt under any policy; the adaptive run
 * is held to that, and to the TypeScript halting and trace modules.
 */
import { describe, expect, it } from 'vitest';
import { createModel, haltProbability, shouldHalt } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { stepStatistics } from '../../lib/trace';
import { relativeError } from '../helpers/golden';

const config = randomConfig({ seq_len: 11, vocab_size: 7, hidden_size: 24, num_heads: 2, halt_max_steps: 6, L_layers: 2 });
const weights = randomWeights(config, { seed: 7, qHeadStd: 1 / Math.sqrt(24) });
const model = createModel(config, weights, { threads: 2 });
const B = 9;
const inputs = Int32Array.from({ length: B * config.seq_len }, (_, i) => (i * 5 + (i >> 3)) % config.vocab_size);
const V = config.vocab_size, S = config.seq_len;

const fixed = model.inferSync({ inputs }, { maxSteps: 10, trace: 'logits' });
const trace = fixed.trace!;

/** The step at which a sample halts under `policy`, from the fixed run's q_halt trace. */
function expectedHaltStep(b: number, policy: { maxSteps: number; minSteps: number; haltThreshold: number | null }): number {
  for (let s = 1; s <= policy.maxSteps; s++) if (shouldHalt(s, trace[s - 1].qHalt[b], policy)) return s;
  throw new Error('unreachable');
}

describe('fixed steps (haltThreshold null)', () => {
  it('runs every sample maxSteps steps, even past halt_max_steps', () => {
    expect(Array.from(fixed.steps)).toEqual(new Array(B).fill(10));
    expect(trace).toHaveLength(10);
    expect(trace.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('defaults to halt_max_steps', () => {
    const r = model.inferSync({ inputs });
    expect(Array.from(r.steps)).toEqual(new Array(B).fill(config.halt_max_steps));
    expect(relativeError(r.logits, trace[config.halt_max_steps - 1].logits!)).toBeLessThan(1e-6);
  });

  it('q_halt varies across samples, so the adaptive tests below can fail', () => {
    const probs = Array.from(trace[2].haltProbability);
    expect(Math.max(...probs) - Math.min(...probs)).toBeGreaterThan(0.2);
  });
});

describe('adaptive halting', () => {
  // A threshold at the median halt probability of step 2 halts about half the batch there.
  const sorted = Array.from(trace[1].haltProbability).sort((a, b) => a - b);
  const threshold = (sorted[4] + sorted[5]) / 2;

  it.each([
    { minSteps: 1, maxSteps: 6 },
    { minSteps: 3, maxSteps: 6 },
    { minSteps: 2, maxSteps: 9 },
  ])('halts each sample where the shared policy says (%o)', ({ minSteps, maxSteps }) => {
    const policy = { minSteps, maxSteps, haltThreshold: threshold };
    const r = model.inferSync({ inputs }, { ...policy, trace: 'logits' });
    const expected = Array.from({ length: B }, (_, b) => expectedHaltStep(b, policy));
    expect(Array.from(r.steps)).toEqual(expected);
    expect(Math.min(...expected)).toBeGreaterThanOrEqual(minSteps);
    if (minSteps === 2) {
      // The threshold is step 2's median: about half the batch stops there, the rest go on.
      const atTwo = expected.filter((s) => s === 2).length;
      expect(atTwo).toBeGreaterThanOrEqual(3);
      expect(atTwo).toBeLessThanOrEqual(6);
    }
    for (let b = 0; b < B; b++) {
      const at = trace[expected[b] - 1];
      const slice = (a: Float32Array) => a.subarray(b * S * V, (b + 1) * S * V);
      expect(relativeError(slice(r.logits), slice(at.logits!))).toBeLessThan(1e-6);
      expect(r.qHalt[b]).toBeCloseTo(at.qHalt[b], 5);
      expect(r.haltProbability[b]).toBeCloseTo(haltProbability(r.qHalt[b]), 6);
    }
    expect(r.trace).toHaveLength(Math.max(...expected));
  });

  it('a threshold of 0 halts everything at minSteps; 1 never halts early', () => {
    expect(Array.from(model.inferSync({ inputs }, { haltThreshold: 0, minSteps: 2 }).steps)).toEqual(new Array(B).fill(2));
    expect(Array.from(model.inferSync({ inputs }, { haltThreshold: 1, maxSteps: 5 }).steps)).toEqual(new Array(B).fill(5));
  });

  it('per-sample halting inside a batch gives what each sample gives alone', () => {
    const policy = { haltThreshold: threshold, maxSteps: 8 };
    const batch = model.inferSync({ inputs }, policy);
    for (let b = 0; b < B; b++) {
      const alone = model.inferSync({ inputs: inputs.subarray(b * S, (b + 1) * S) }, policy);
      expect(alone.steps[0]).toBe(batch.steps[b]);
      expect(Array.from(alone.predictions)).toEqual(Array.from(batch.predictions.subarray(b * S, (b + 1) * S)));
      expect(relativeError(alone.logits, batch.logits.subarray(b * S * V, (b + 1) * S * V))).toBeLessThan(1e-6);
    }
  });
});

describe('trace', () => {
  const policy = { haltThreshold: 0.5, maxSteps: 7, trace: 'logits' as const };
  const r = model.inferSync({ inputs }, policy);

  it('freezes a halted sample at its final step', () => {
    for (let b = 0; b < B; b++) {
      for (const rec of r.trace!) {
        const done = rec.step >= r.steps[b];
        expect(rec.halted[b]).toBe(done ? 1 : 0);
        if (rec.step > r.steps[b]) {
          const last = r.trace![r.steps[b] - 1];
          expect(rec.qHalt[b]).toBe(last.qHalt[b]);
          expect(rec.confidence[b]).toBe(last.confidence[b]);
          expect(rec.changed[b]).toBe(0);
        }
      }
    }
  });

  it('changed and confidence follow the shared trace definition', () => {
    const previous = inputs.slice();
    for (const rec of r.trace!) {
      for (let b = 0; b < B; b++) {
        if (rec.step > r.steps[b]) continue;
        const stats = stepStatistics(rec.logits!, b * S * V, S, V, previous, b * S);
        expect(rec.changed[b]).toBe(stats.changed);
        expect(rec.confidence[b]).toBeCloseTo(stats.confidence, 6);
        expect(rec.haltProbability[b]).toBeCloseTo(haltProbability(rec.qHalt[b]), 6);
      }
    }
    expect(Array.from(r.predictions)).toEqual(Array.from(previous));
  });

  it('is absent unless asked for, and carries logits only with trace: "logits"', () => {
    expect(model.inferSync({ inputs }).trace).toBeUndefined();
    const t = model.inferSync({ inputs }, { trace: true }).trace!;
    expect(t).toHaveLength(config.halt_max_steps);
    expect(t[0].logits).toBeUndefined();
  });
});

describe('carry', () => {
  it('resuming from a returned carry continues the same recursion', () => {
    const first = model.inferSync({ inputs }, { maxSteps: 2, returnCarry: true });
    const resumed = model.inferSync({ inputs, carry: first.carry }, { maxSteps: 3, trace: 'logits' });
    for (let s = 0; s < 3; s++) {
      expect(relativeError(resumed.trace![s].logits!, trace[s + 2].logits!)).toBeLessThan(1e-5);
    }
  });

  it('infer leaves the caller\'s carry arrays untouched', () => {
    const first = model.inferSync({ inputs }, { maxSteps: 1, returnCarry: true });
    const before = first.carry!.zH.slice();
    model.inferSync({ inputs, carry: first.carry }, { maxSteps: 2 });
    expect(first.carry!.zH).toEqual(before);
  });
});

describe('async and concurrency', () => {
  it('infer resolves to what inferSync returns', async () => {
    const r = await model.infer({ inputs }, { maxSteps: 3 });
    const s = model.inferSync({ inputs }, { maxSteps: 3 });
    expect(r.logits).toEqual(s.logits);
  });

  it('concurrent calls on one model each get their own answer', async () => {
    const calls = Array.from({ length: 6 }, (_, i) => {
      const x = inputs.map((t) => (t + i) % V);
      return { x, promise: model.infer({ inputs: x }, { maxSteps: 2 + (i % 3) }) };
    });
    const results = await Promise.all(calls.map((c) => c.promise));
    calls.forEach(({ x }, i) => {
      const expected = model.inferSync({ inputs: x }, { maxSteps: 2 + (i % 3) });
      expect(results[i].logits).toEqual(expected.logits);
    });
  });

  it('does not block the event loop while it runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await model.infer({ inputs: new Int32Array(64 * S) }, { maxSteps: 30 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
  });
});
