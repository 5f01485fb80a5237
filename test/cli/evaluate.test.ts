/**
 * The scoring arithmetic on hand-made predictions (exact vs token accuracy, ignored
 * positions), confidence from hand-made logits, and evaluateModel against direct inference.
 */
import { describe, expect, it } from 'vitest';
import { createModel, evaluateModel, getTask, IGNORE_LABEL, labelledConfidence, parseConfig, randomWeights, scorePredictions } from '../../lib';
import type { Example } from '../../lib';

const example = (labels: number[]): Example => ({ inputs: new Int32Array(labels.length), labels: Int32Array.from(labels), puzzleIdentifier: 0 });
const X = IGNORE_LABEL;

describe('scorePredictions', () => {
  it('counts whole answers and labelled positions separately', () => {
    const examples = [example([2, 3, 4, 5]), example([2, 3, 4, 5]), example([5, 4, 3, 2])];
    const predictions = Int32Array.from([
      2, 3, 4, 5, // all right
      2, 3, 4, 4, // one of four wrong
      1, 1, 3, 2, // two of four wrong
    ]);
    const s = scorePredictions(predictions, examples);
    expect(s).toEqual({ count: 3, exactCorrect: 1, exactAccuracy: 1 / 3, labelledTokens: 12, correctTokens: 9, tokenAccuracy: 9 / 12 });
  });

  it('ignores positions labelled IGNORE_LABEL, in both accuracies', () => {
    // Compliance-like: only two answer positions per example.
    const examples = [example([X, X, 14, X, 16]), example([X, X, 15, X, 23])];
    const predictions = Int32Array.from([
      9, 9, 14, 9, 16, // wrong everywhere it is not asked: still exact
      0, 0, 15, 0, 16, // one of the two answers wrong
    ]);
    const s = scorePredictions(predictions, examples);
    expect(s.exactCorrect).toBe(1);
    expect(s.exactAccuracy).toBe(0.5);
    expect(s.labelledTokens).toBe(4);
    expect(s.correctTokens).toBe(3);
    expect(s.tokenAccuracy).toBe(0.75);
  });

  it('agrees with task.isCorrect on generated examples with corrupted answers', () => {
    const task = getTask('sudoku4');
    const examples = task.generate(40, 3);
    const predictions = new Int32Array(40 * 16);
    let corrupted = 0;
    examples.forEach((e, i) => {
      predictions.set(e.labels, i * 16);
      if (i % 3 === 0) {
        predictions[i * 16 + (i % 16)] = 1; // a blank is never a solution token
        corrupted++;
      }
    });
    const s = scorePredictions(predictions, examples);
    const byTask = examples.filter((e, i) => task.isCorrect(predictions.subarray(i * 16, (i + 1) * 16), e)).length;
    expect(s.exactCorrect).toBe(byTask);
    expect(s.exactCorrect).toBe(40 - corrupted);
    expect(s.correctTokens).toBe(40 * 16 - corrupted);
  });

  it('rejects predictions of the wrong size and an empty set', () => {
    expect(() => scorePredictions(new Int32Array(3), [example([1, 2])])).toThrow(/predictions do not match/);
    expect(() => scorePredictions(new Int32Array(0), [])).toThrow(/nothing to score/);
  });
});

describe('labelledConfidence', () => {
  it('averages the largest softmax probability over labelled positions only', () => {
    // vocab 2: position 0 logits (0, 0) -> 0.5; position 1 (ln 3, 0) -> 0.75; position 2 ignored (100, 0) -> ~1.
    const logits = Float32Array.from([0, 0, Math.log(3), 0, 100, 0]);
    expect(labelledConfidence(logits, 0, Int32Array.from([1, 0, X]), 2)).toBeCloseTo((0.5 + 0.75) / 2, 6);
    expect(labelledConfidence(logits, 0, Int32Array.from([1, 0, 0]), 2)).toBeCloseTo((0.5 + 0.75 + 1) / 3, 6);
    // An offset reads the second sample of a batch.
    expect(labelledConfidence(Float32Array.from([9, 9, 0, 0]), 2, Int32Array.from([0]), 2)).toBeCloseTo(0.5, 6);
  });
});

describe('evaluateModel', () => {
  const task = getTask('sudoku4');
  const config = parseConfig({ ...task.suggestedConfig(), hidden_size: 32, H_cycles: 1, L_cycles: 2, halt_max_steps: 5 });
  // qHeadStd makes q_halt vary, so adaptive halting stops samples at different steps.
  const model = createModel(config, randomWeights(config, { seed: 4, qHeadStd: 1 }), { threads: 1 });
  const examples = task.generate(20, 9);

  it('fixed steps: every example runs halt_max_steps, predictions as direct inference, scored by scorePredictions', async () => {
    const run = await evaluateModel(model, examples, { haltThreshold: null, batch: 7 });
    expect(run.meanSteps).toBe(5);
    expect(run.stepCounts).toEqual([0, 0, 0, 0, 20]);
    const direct = model.inferSync({ inputs: examples.map((e) => e.inputs) });
    expect(Array.from(run.predictions)).toEqual(Array.from(direct.predictions));
    const { count, exactCorrect, labelledTokens, correctTokens } = scorePredictions(direct.predictions, examples);
    expect({ count: run.count, exactCorrect: run.exactCorrect, labelledTokens: run.labelledTokens, correctTokens: run.correctTokens })
      .toEqual({ count, exactCorrect, labelledTokens, correctTokens });
    expect(run.msPerAnswer).toBeCloseTo(run.totalMs / 20, 9);
    expect(run.totalMs).toBeGreaterThan(0);
  });

  it('adaptive halting: steps as direct inference with the same threshold', async () => {
    const run = await evaluateModel(model, examples, { haltThreshold: 0.5 });
    const direct = model.inferSync({ inputs: examples.map((e) => e.inputs) }, { haltThreshold: 0.5 });
    expect(Array.from(run.steps)).toEqual(Array.from(direct.steps));
    expect(run.meanSteps).toBeCloseTo(direct.steps.reduce((a, b) => a + b, 0) / 20, 12);
    expect(run.stepCounts.reduce((a, b) => a + b, 0)).toBe(20);
    // The model halts some samples early, or this test would not tell adaptive from fixed.
    expect(run.meanSteps).toBeLessThan(5);
  });

  it('repeats timed passes with the same answers', async () => {
    const once = await evaluateModel(model, examples, { haltThreshold: 0.5 });
    const thrice = await evaluateModel(model, examples, { haltThreshold: 0.5, repeats: 3 });
    expect(thrice.repeats).toBe(3);
    expect(Array.from(thrice.predictions)).toEqual(Array.from(once.predictions));
    expect(Array.from(thrice.steps)).toEqual(Array.from(once.steps));
    await expect(evaluateModel(model, examples, { haltThreshold: null, repeats: 0 })).rejects.toThrow(/repeat/);
  });

  it('rejects an empty set and a bad batch size', async () => {
    await expect(evaluateModel(model, [], { haltThreshold: null })).rejects.toThrow(/nothing to evaluate/);
    await expect(evaluateModel(model, examples, { haltThreshold: null, batch: 0 })).rejects.toThrow(/batch/);
  });
});
