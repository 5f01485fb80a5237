/**
 * Halting, the other stopping rules and the trace, on a random model whose q_head is not the
 * official zero init (so q_halt varies between samples and steps). Samples never interact in
 * TRM, so a fixed-step run's trace tells exactly when each sample must stop under any policy
 * (lib/halting.ts replayStopping); the adaptive runs are held to that, and to the TypeScript
 * halting and trace modules.
 */
import { describe, expect, it } from 'vitest';
import { createModel, haltProbability, stopReason, type InferOptions } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { normalizeOptions } from '../../lib/request';
import { stepStatistics } from '../../lib/trace';
import { relativeError } from '../helpers/golden';
import { MIN_STOP_MARGIN, decisionMargin, expectedStops, pickThreshold } from '../helpers/stopping';

const config = randomConfig({ seq_len: 11, vocab_size: 7, hidden_size: 24, num_heads: 2, halt_max_steps: 6, L_layers: 2 });
const weights = randomWeights(config, { seed: 7, qHeadStd: 1 / Math.sqrt(24) });
const model = createModel(config, weights, { threads: 2 });
const B = 9;
const inputs = Int32Array.from({ length: B * config.seq_len }, (_, i) => (i * 5 + (i >> 3)) % config.vocab_size);
const V = config.vocab_size, S = config.seq_len;

const fixed = model.inferSync({ inputs }, { maxSteps: 10, trace: 'logits' });
const trace = fixed.trace!;

/** Where each sample stops under `options`, from the fixed run's trace. */
function expected(options: InferOptions) {
  return expectedStops(trace, B, normalizeOptions(options, config));
}

/** An adaptive run against the fixed trace: steps and rules per sample, final values, trace records. */
function expectStopsAsReplayed(options: InferOptions): ReturnType<typeof expected> {
  const want = expected(options);
  const r = model.inferSync({ inputs }, { ...options, trace: 'logits' });
  expect(Array.from(r.steps)).toEqual(want.steps);
  expect(r.stoppedBy).toEqual(want.stoppedBy);
  for (let b = 0; b < B; b++) {
    const at = trace[want.steps[b] - 1];
    const slice = (a: Float32Array) => a.subarray(b * S * V, (b + 1) * S * V);
    expect(relativeError(slice(r.logits), slice(at.logits!))).toBeLessThan(1e-6);
    expect(r.qHalt[b]).toBeCloseTo(at.qHalt[b], 5);
    // The trace says which rule stopped the sample from the step it stopped on, null before.
    for (const rec of r.trace!) expect(rec.stoppedBy[b]).toBe(rec.step >= want.steps[b] ? want.stoppedBy[b] : null);
  }
  expect(r.trace).toHaveLength(Math.max(...want.steps));
  return want;
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
    const { steps } = expectStopsAsReplayed({ minSteps, maxSteps, haltThreshold: threshold });
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(minSteps);
    if (minSteps === 2) {
      // The threshold is step 2's median: about half the batch stops there, the rest go on.
      const atTwo = steps.filter((s) => s === 2).length;
      expect(atTwo).toBeGreaterThanOrEqual(3);
      expect(atTwo).toBeLessThanOrEqual(6);
    }
    const r = model.inferSync({ inputs }, { minSteps, maxSteps, haltThreshold: threshold });
    for (let b = 0; b < B; b++) expect(r.haltProbability[b]).toBeCloseTo(haltProbability(r.qHalt[b]), 6);
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

describe('stopping rules: confidence, stable predictions, and all of them together', () => {
  // Chosen from the fixed trace to spread the stopping steps, away from every deciding value.
  const confidence = pickThreshold(trace.slice(0, 8).map((rec) => Array.from(rec.confidence)), B);
  const halt = pickThreshold(trace.slice(0, 8).map((rec) => Array.from(rec.haltProbability)), B);

  it('the thresholds sit away from the values they decide on', () => {
    expect(confidence.margin).toBeGreaterThan(MIN_STOP_MARGIN);
    expect(halt.margin).toBeGreaterThan(MIN_STOP_MARGIN);
  });

  it.each([
    { name: 'confidence alone', options: { maxSteps: 8 }, rule: 'confidence', confidence: true },
    { name: 'confidence from minSteps 3', options: { minSteps: 3, maxSteps: 8 }, rule: 'confidence', confidence: true },
    { name: 'stable 1 step', options: { stableSteps: 1, maxSteps: 10 }, rule: 'stable' },
    { name: 'stable 2 steps', options: { stableSteps: 2, maxSteps: 10 }, rule: 'stable' },
    { name: 'stable 1 step from minSteps 6', options: { stableSteps: 1, minSteps: 6, maxSteps: 10 }, rule: 'stable' },
    { name: 'all rules', options: { stableSteps: 1, maxSteps: 8, halt: true }, rule: null, confidence: true },
    { name: 'all rules from minSteps 2', options: { stableSteps: 1, minSteps: 2, maxSteps: 8, halt: true }, rule: null, confidence: true },
  ])('$name: each sample stops where the shared rules say, by the rule they name', ({ options: o, rule, confidence: withConfidence }) => {
    const { halt: withHalt, ...rest } = o as typeof o & { halt?: boolean };
    const options: InferOptions = {
      ...rest,
      ...(withConfidence ? { confidenceThreshold: confidence.threshold } : {}),
      ...(withHalt ? { haltThreshold: halt.threshold } : {}),
    };
    const want = expectStopsAsReplayed(options);
    const policy = normalizeOptions(options, config);
    expect(decisionMargin(trace, want.steps, policy)).toBeGreaterThan(MIN_STOP_MARGIN);
    expect(Math.min(...want.steps)).toBeGreaterThanOrEqual(policy.minSteps);
    // Each case really exercises its rule: it stops some samples, and not all at one step.
    if (rule !== null) {
      expect(want.stoppedBy).toContain(rule);
      expect(new Set(want.steps).size).toBeGreaterThan(1);
    } else {
      expect(new Set(want.stoppedBy).size).toBeGreaterThanOrEqual(2);
    }
  });

  it('stableSteps k needs k consecutive unchanged steps: step 1 compares against the input', () => {
    // With lm_head zero every logit is 0, so every step predicts token 0 everywhere (first
    // maximum). An all-zero input is then unchanged at step 1; any other input changes at
    // step 1 and never again.
    const flat = createModel(config, { ...weights, 'inner.lm_head.weight': new Float32Array(weights['inner.lm_head.weight'].length) }, { threads: 1 });
    const pair = Int32Array.from({ length: 2 * S }, (_, i) => (i < S ? 0 : i % V));
    const k1 = flat.inferSync({ inputs: pair }, { stableSteps: 1, maxSteps: 10, trace: true });
    expect(Array.from(k1.trace![0].changed)).toEqual([0, pair.subarray(S).filter((t) => t !== 0).length]);
    expect([Array.from(k1.steps), k1.stoppedBy]).toEqual([[1, 2], ['stable', 'stable']]);
    const k2 = flat.inferSync({ inputs: pair }, { stableSteps: 2, maxSteps: 10 });
    expect(Array.from(k2.steps)).toEqual([2, 3]);
    // Not before minSteps, however long the run; at maxSteps a firing rule still names itself.
    expect(Array.from(flat.inferSync({ inputs: pair }, { stableSteps: 1, minSteps: 4, maxSteps: 10 }).steps)).toEqual([4, 4]);
    expect(flat.inferSync({ inputs: pair }, { stableSteps: 2, maxSteps: 2 }).stoppedBy).toEqual(['stable', 'maxSteps']);
    flat.dispose();
    // From the first trace: a run of k unchanged steps ending at step s stops at s, not before.
    const run = Array.from({ length: B }, () => 0);
    const firstStable = Array.from({ length: B }, () => 0);
    for (const rec of trace) {
      for (let b = 0; b < B; b++) {
        run[b] = rec.changed[b] === 0 ? run[b] + 1 : 0;
        if (run[b] >= 2 && firstStable[b] === 0) firstStable[b] = rec.step;
      }
    }
    const two = model.inferSync({ inputs }, { stableSteps: 2, maxSteps: 10 });
    firstStable.forEach((s, b) => expect(two.steps[b]).toBe(s === 0 ? 10 : s));
    expect(firstStable.some((s) => s > 0)).toBe(true);
  });

  it('precedence at one step: halt > confidence > stable > maxSteps', () => {
    const all = { haltThreshold: 0, confidenceThreshold: 0, stableSteps: 1 };
    expect(model.inferSync({ inputs }, { ...all, minSteps: 2 }).stoppedBy).toEqual(new Array(B).fill('halt'));
    expect(model.inferSync({ inputs }, { confidenceThreshold: 0, stableSteps: 1, maxSteps: 1 }).stoppedBy).toEqual(new Array(B).fill('confidence'));
    expect(model.inferSync({ inputs }, { haltThreshold: 1, confidenceThreshold: 1, maxSteps: 3 }).stoppedBy).toEqual(new Array(B).fill('maxSteps'));
    // The rule itself, with every rule firing or none.
    const policy = { maxSteps: 4, minSteps: 2, haltThreshold: 0.5, confidenceThreshold: 0.8, stableSteps: 2 };
    expect(stopReason(4, 1, 0.9, 2, policy)).toBe('halt');
    expect(stopReason(4, -1, 0.8, 2, policy)).toBe('confidence');
    expect(stopReason(4, -1, Math.fround(0.79), 2, policy)).toBe('stable');
    expect(stopReason(4, -1, 0.7, 1, policy)).toBe('maxSteps');
    expect(stopReason(3, -1, 0.7, 1, policy)).toBe(null);
    expect(stopReason(1, 1, 0.9, 2, policy)).toBe(null); // before minSteps nothing adaptive fires
    expect(stopReason(1, 1, 0.9, 2, { ...policy, maxSteps: 1 })).toBe('maxSteps');
  });

  it('a batch gives what each sample gives alone, under every rule at once', () => {
    const options = { haltThreshold: halt.threshold, confidenceThreshold: confidence.threshold, stableSteps: 1, maxSteps: 8 };
    const batch = model.inferSync({ inputs }, options);
    for (let b = 0; b < B; b++) {
      const alone = model.inferSync({ inputs: inputs.subarray(b * S, (b + 1) * S) }, options);
      expect([alone.steps[0], alone.stoppedBy[0]]).toEqual([batch.steps[b], batch.stoppedBy[b]]);
      expect(Array.from(alone.predictions)).toEqual(Array.from(batch.predictions.subarray(b * S, (b + 1) * S)));
      expect(relativeError(alone.logits, batch.logits.subarray(b * S * V, (b + 1) * S * V))).toBeLessThan(1e-6);
    }
  });

  it('async infer stops where inferSync does', async () => {
    const options = { confidenceThreshold: confidence.threshold, stableSteps: 1, maxSteps: 8 };
    const a = await model.infer({ inputs }, options);
    const s = model.inferSync({ inputs }, options);
    expect([Array.from(a.steps), a.stoppedBy]).toEqual([Array.from(s.steps), s.stoppedBy]);
  });
});

describe('recursion depth overrides (hCycles, lCycles)', () => {
  it('the trained depth is the default, and another depth is the model built at that depth', () => {
    const same = model.inferSync({ inputs }, { hCycles: config.H_cycles, lCycles: config.L_cycles, maxSteps: 3 });
    expect(same.logits).toEqual(model.inferSync({ inputs }, { maxSteps: 3 }).logits);
    // The weights do not depend on the depth, so a model configured at H 3 / L 1 is the reference.
    const deeper = createModel({ ...config, H_cycles: 3, L_cycles: 1 }, weights, { threads: 2 });
    const reference = deeper.inferSync({ inputs }, { maxSteps: 3, trace: true });
    const overridden = model.inferSync({ inputs }, { hCycles: 3, lCycles: 1, maxSteps: 3, trace: true });
    expect(overridden.logits).toEqual(reference.logits);
    expect(overridden.trace!.map((r) => Array.from(r.qHalt))).toEqual(reference.trace!.map((r) => Array.from(r.qHalt)));
    expect(relativeError(overridden.logits, same.logits)).toBeGreaterThan(1e-3);
    // One override alone keeps the other at the trained value.
    const hOnly = createModel({ ...config, H_cycles: 1 }, weights, { threads: 2 });
    expect(model.inferSync({ inputs }, { hCycles: 1, maxSteps: 2 }).logits).toEqual(hOnly.inferSync({ inputs }, { maxSteps: 2 }).logits);
    deeper.dispose();
    hOnly.dispose();
  });

  it('with the stopping rules too, and the next call runs the trained depth again', async () => {
    const options = { hCycles: 1, lCycles: 3, stableSteps: 1, haltThreshold: 0.5, maxSteps: 6 };
    const reference = createModel({ ...config, H_cycles: 1, L_cycles: 3 }, weights, { threads: 2 });
    const want = reference.inferSync({ inputs }, { stableSteps: 1, haltThreshold: 0.5, maxSteps: 6 });
    const got = await model.infer({ inputs }, options);
    expect([Array.from(got.steps), got.stoppedBy]).toEqual([Array.from(want.steps), want.stoppedBy]);
    expect(got.logits).toEqual(want.logits);
    expect(model.inferSync({ inputs }, { maxSteps: 10 }).logits).toEqual(fixed.logits);
    reference.dispose();
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
