/**
 * Scoring a model on labelled examples, as the official evaluation does: exact accuracy
 * (every labelled position right: the whole answer), token accuracy over labelled positions,
 * and the ACT steps used, under fixed steps (the official eval) or adaptive stopping rules.
 */
import { OptionError } from './errors';
import { STOP_REASONS } from './halting';
import { IGNORE_LABEL } from './tasks/task';
import type { Example } from './tasks/task';
import type { TrmModel } from './trm-model';
import type { InferOptions, InferResult, StopReason } from './types';

export interface Score {
  /** Examples scored. */
  count: number;
  /** Examples whose every labelled position is predicted exactly. */
  exactCorrect: number;
  /** exactCorrect / count. */
  exactAccuracy: number;
  /** Positions whose label is not IGNORE_LABEL, over all examples. */
  labelledTokens: number;
  correctTokens: number;
  /** correctTokens / labelledTokens: pooled over examples, so a long answer weighs more. */
  tokenAccuracy: number;
}

/** Scores flat predictions (`[examples.length * seqLen]`, example-major) against the examples' labels. */
export function scorePredictions(predictions: Int32Array, examples: readonly Example[]): Score {
  if (examples.length === 0) throw new OptionError('nothing to score', { field: 'examples', value: 0, expected: 'at least one example' });
  const seqLen = examples[0].labels.length;
  if (predictions.length !== examples.length * seqLen) {
    throw new OptionError('predictions do not match the examples', { field: 'predictions', value: predictions.length, expected: `${examples.length} x ${seqLen} tokens` });
  }
  let exactCorrect = 0, labelledTokens = 0, correctTokens = 0;
  examples.forEach((example, i) => {
    if (example.labels.length !== seqLen) {
      throw new OptionError('examples differ in length', { field: `examples[${i}].labels`, value: example.labels.length, expected: `${seqLen} tokens` });
    }
    let allRight = true;
    for (let t = 0; t < seqLen; t++) {
      const label = example.labels[t];
      if (label === IGNORE_LABEL) continue;
      labelledTokens++;
      if (predictions[i * seqLen + t] === label) correctTokens++;
      else allRight = false;
    }
    if (allRight) exactCorrect++;
  });
  return {
    count: examples.length,
    exactCorrect,
    exactAccuracy: exactCorrect / examples.length,
    labelledTokens,
    correctTokens,
    tokenAccuracy: labelledTokens === 0 ? 0 : correctTokens / labelledTokens,
  };
}

/**
 * Mean over the labelled positions of one sample of the largest softmax probability: how
 * sure the model is of the answer it gives. (The trace's `confidence` averages over every
 * position, givens and ignored slots included.)
 */
export function labelledConfidence(logits: ArrayLike<number>, offset: number, labels: Int32Array, vocab: number): number {
  let sum = 0, n = 0;
  for (let t = 0; t < labels.length; t++) {
    if (labels[t] === IGNORE_LABEL) continue;
    const row = offset + t * vocab;
    let best = logits[row];
    for (let v = 1; v < vocab; v++) if (logits[row + v] > best) best = logits[row + v];
    let z = 0;
    for (let v = 0; v < vocab; v++) z += Math.exp(logits[row + v] - best);
    sum += 1 / z;
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

export interface EvaluateOptions {
  /** ACT steps at most; default the model's halt_max_steps. */
  maxSteps?: number;
  /** null: no halting rule (with no other rule, every example runs maxSteps steps: the official eval); a number: halt at that threshold. */
  haltThreshold: number | null;
  /** The other stopping rules and the recursion depth, as `infer` takes them (default: off, the config's depth). */
  confidenceThreshold?: number | null;
  stableSteps?: number | null;
  minSteps?: number;
  hCycles?: number;
  lCycles?: number;
  /** Examples per inference call; default 64. */
  batch?: number;
  /**
   * Timed passes over the examples; the time reported is the median pass (default 1). On a
   * machine shared with other work a single pass can be off by 2x; answers come from the first.
   */
  repeats?: number;
  /**
   * The predictions of one call's result; default its argmax. A codec model scores the
   * constrained argmax of its label slots (codecs/predict.ts), as its predict() answers.
   */
  decode?: (result: InferResult) => Int32Array;
}

export interface EvalRun extends Score {
  maxSteps: number;
  haltThreshold: number | null;
  confidenceThreshold: number | null;
  stableSteps: number | null;
  /** The recursion depth the examples ran at. */
  hCycles: number;
  lCycles: number;
  /** Examples stopped by each rule. */
  stoppedBy: Record<StopReason, number>;
  /** Mean ACT steps per example. */
  meanSteps: number;
  /** stepCounts[s - 1]: examples that stopped after s steps. */
  stepCounts: number[];
  /** Wall time of one pass of inference calls (scoring excluded; the median of `repeats` passes), after an untimed warm-up call on the first batch. */
  totalMs: number;
  repeats: number;
  msPerAnswer: number;
  /** [count * seqLen] final predictions and [count] steps, for callers that compare runs. */
  predictions: Int32Array;
  steps: Int32Array;
}

/**
 * Runs the model on every example in batches and scores the answers. One untimed warm-up
 * call on the first batch comes first, so thread start-up and first-touch costs are not
 * charged to the answers.
 */
export async function evaluateModel(model: TrmModel, examples: readonly Example[], options: EvaluateOptions): Promise<EvalRun> {
  if (examples.length === 0) throw new OptionError('nothing to evaluate', { field: 'examples', value: 0, expected: 'at least one example' });
  const batch = options.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1) throw new OptionError('invalid batch size', { field: 'batch', value: batch, expected: 'an integer >= 1' });
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new OptionError('invalid repeat count', { field: 'repeats', value: repeats, expected: 'an integer >= 1' });
  const maxSteps = options.maxSteps ?? model.config.halt_max_steps;
  const inferOptions: InferOptions = {
    maxSteps, haltThreshold: options.haltThreshold, confidenceThreshold: options.confidenceThreshold ?? null, stableSteps: options.stableSteps ?? null,
  };
  for (const key of ['minSteps', 'hCycles', 'lCycles'] as const) if (options[key] !== undefined) inferOptions[key] = options[key];
  const stoppedBy = Object.fromEntries(STOP_REASONS.map((r) => [r, 0])) as Record<StopReason, number>;
  const seqLen = model.config.seq_len;
  const predictions = new Int32Array(examples.length * seqLen);
  const steps = new Int32Array(examples.length);

  const inputOf = (chunk: readonly Example[]) => ({ inputs: chunk.map((e) => e.inputs), puzzleIdentifiers: chunk.map((e) => e.puzzleIdentifier) });
  // The warm-up is a whole first batch: a smaller one leaves the full batch's buffers to be first touched while timed.
  await model.infer(inputOf(examples.slice(0, batch)), inferOptions);
  const passMs: number[] = [];
  for (let pass = 0; pass < repeats; pass++) {
    let ns = 0n;
    for (let start = 0; start < examples.length; start += batch) {
      const input = inputOf(examples.slice(start, start + batch));
      const t0 = process.hrtime.bigint();
      const r = await model.infer(input, inferOptions);
      ns += process.hrtime.bigint() - t0;
      if (pass === 0) {
        predictions.set(options.decode ? options.decode(r) : r.predictions, start * seqLen);
        steps.set(r.steps, start);
        for (const reason of r.stoppedBy) stoppedBy[reason]++;
      }
    }
    passMs.push(Number(ns) / 1e6);
  }
  passMs.sort((a, b) => a - b);
  const totalMs = passMs[Math.floor(passMs.length / 2)];
  const stepCounts = new Array<number>(maxSteps).fill(0);
  let stepSum = 0;
  for (const s of steps) {
    stepCounts[s - 1]++;
    stepSum += s;
  }
  return {
    ...scorePredictions(predictions, examples),
    maxSteps,
    haltThreshold: options.haltThreshold,
    confidenceThreshold: inferOptions.confidenceThreshold ?? null,
    stableSteps: inferOptions.stableSteps ?? null,
    hCycles: options.hCycles ?? model.config.H_cycles,
    lCycles: options.lCycles ?? model.config.L_cycles,
    stoppedBy,
    meanSteps: stepSum / examples.length,
    stepCounts,
    totalMs,
    repeats,
    msPerAnswer: totalMs / examples.length,
    predictions,
    steps,
  };
}
