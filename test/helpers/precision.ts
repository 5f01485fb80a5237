/**
 * Whole-model accuracy of a precision against another run of the same model: the shipped
 * models' held-out sets (drawn as `trm eval` draws them), each run under fixed steps (the
 * official eval, with every step's logits traced) and adaptive halting, then compared with
 * the reference run: exact accuracy, prediction agreement, logit error per ACT step and
 * the halting-step distribution.
 */
import * as path from 'node:path';
import { evaluateModel, scorePredictions } from '../../lib/evaluate';
import { CONFIG_FILE } from '../../lib/model/directory';
import { taskForModel } from '../../lib/model-task';
import { heldOutSet, readTrainDataDescription } from '../../lib/tasks/splits';
import { IGNORE_LABEL, type Example } from '../../lib/tasks/task';
import type { TrmConfig } from '../../lib/model/config';
import type { TrmModel } from '../../lib/trm-model';

/** The held-out set `trm eval DIR --count N` scores: seed EVAL_SEED, the described training set excluded. */
export function heldOutExamples(dir: string, config: TrmConfig, count: number): Example[] {
  const configFile = path.join(dir, CONFIG_FILE);
  const task = taskForModel(config, undefined, configFile);
  return heldOutSet(task, count, { training: readTrainDataDescription(config, configFile) }).examples;
}

export interface PrecisionRun {
  /** Fixed steps (halt_max_steps, the official eval). */
  fixedExact: number;
  /** Adaptive halting at ADAPTIVE_THRESHOLD. */
  adaptiveExact: number;
  meanSteps: number;
  /** stepCounts[s - 1]: examples that halted after s steps (adaptive). */
  stepCounts: number[];
  /** [count * seqLen] final predictions of the fixed and the adaptive run. */
  fixedPredictions: Int32Array;
  adaptivePredictions: Int32Array;
  adaptiveSteps: Int32Array;
  /** logits[s]: step s + 1's logits of the fixed run, [count * seqLen * vocab]. */
  logits: Float32Array[];
}

export const ADAPTIVE_THRESHOLD = 0.5;
const BATCH = 64;

/** Runs `model` on `examples` under fixed steps (tracing every step's logits) and adaptive halting. */
export async function runPrecision(model: TrmModel, examples: readonly Example[]): Promise<PrecisionRun> {
  const { seq_len: S, vocab_size: V, halt_max_steps: steps } = model.config;
  const fixedPredictions = new Int32Array(examples.length * S);
  const logits = Array.from({ length: steps }, () => new Float32Array(examples.length * S * V));
  for (let start = 0; start < examples.length; start += BATCH) {
    const chunk = examples.slice(start, start + BATCH);
    const r = await model.infer({ inputs: chunk.map((e) => e.inputs), puzzleIdentifiers: chunk.map((e) => e.puzzleIdentifier) },
      { haltThreshold: null, trace: 'logits' });
    fixedPredictions.set(r.predictions, start * S);
    r.trace!.forEach((rec, s) => logits[s].set(rec.logits!, start * S * V));
  }
  const adaptive = await evaluateModel(model, examples, { haltThreshold: ADAPTIVE_THRESHOLD, batch: BATCH });
  return {
    fixedExact: scorePredictions(fixedPredictions, examples).exactAccuracy,
    adaptiveExact: adaptive.exactAccuracy,
    meanSteps: adaptive.meanSteps,
    stepCounts: adaptive.stepCounts,
    fixedPredictions,
    adaptivePredictions: adaptive.predictions,
    adaptiveSteps: adaptive.steps,
    logits,
  };
}

export interface PrecisionComparison {
  /** Share of labelled positions predicted alike (fixed steps). */
  tokenAgreement: number;
  /** Share of examples whose whole answer (every labelled position) is predicted alike (fixed steps). */
  answerAgreement: number;
  /** The same for the adaptive runs, which may also halt at different steps. */
  adaptiveTokenAgreement: number;
  /** Share of examples that halt at the same step (adaptive). */
  sameHaltingStep: number;
  /** Norm-wise relative logit error at each ACT step of the fixed run, step 1 first. */
  logitErrorPerStep: number[];
  /** Largest |logit difference| over every step and position. */
  maxAbsLogitError: number;
}

function agreement(a: Int32Array, b: Int32Array, examples: readonly Example[]): { tokens: number; answers: number } {
  const S = examples[0].labels.length;
  let labelled = 0, same = 0, sameAnswers = 0;
  examples.forEach((e, i) => {
    let all = true;
    for (let t = 0; t < S; t++) {
      if (e.labels[t] === IGNORE_LABEL) continue;
      labelled++;
      if (a[i * S + t] === b[i * S + t]) same++;
      else all = false;
    }
    if (all) sameAnswers++;
  });
  return { tokens: same / labelled, answers: sameAnswers / examples.length };
}

/** `run` against `reference` on the same examples. */
export function comparePrecision(reference: PrecisionRun, run: PrecisionRun, examples: readonly Example[]): PrecisionComparison {
  const fixed = agreement(reference.fixedPredictions, run.fixedPredictions, examples);
  const adaptive = agreement(reference.adaptivePredictions, run.adaptivePredictions, examples);
  let sameStep = 0;
  for (let i = 0; i < examples.length; i++) if (reference.adaptiveSteps[i] === run.adaptiveSteps[i]) sameStep++;
  let maxAbs = 0;
  const logitErrorPerStep = reference.logits.map((ref, s) => {
    const got = run.logits[s];
    let diff = 0, norm = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = got[i] - ref[i];
      diff += d * d;
      norm += ref[i] * ref[i];
      maxAbs = Math.max(maxAbs, Math.abs(d));
    }
    return Math.sqrt(diff / norm);
  });
  return {
    tokenAgreement: fixed.tokens,
    answerAgreement: fixed.answers,
    adaptiveTokenAgreement: adaptive.tokens,
    sameHaltingStep: sameStep / examples.length,
    logitErrorPerStep,
    maxAbsLogitError: maxAbs,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One row of the accuracy table the README shows. */
export function tableRow(model: string, label: string, run: PrecisionRun, c: PrecisionComparison | null): string {
  const cells = [
    model, label, pct(run.fixedExact), pct(run.adaptiveExact),
    c ? pct(c.tokenAgreement) : '-', c ? pct(c.answerAgreement) : '-',
    c ? Math.max(...c.logitErrorPerStep).toExponential(1) : '-', run.meanSteps.toFixed(2), c ? pct(c.sameHaltingStep) : '-',
  ];
  return `| ${cells.join(' | ')} |`;
}

export const TABLE_HEADER = [
  '| model | precision (backend) | exact, fixed | exact, adaptive | token agreement | answer agreement | worst logit error (step) | mean steps | same halting step |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

/** Per-step errors and the halting histogram, for the detail under the table. */
export function detailLine(model: string, label: string, run: PrecisionRun, c: PrecisionComparison | null): string {
  const errors = c ? c.logitErrorPerStep.map((e) => e.toExponential(1)).join(' ') : '-';
  return `${model} ${label}: logit error per step [${errors}], max abs ${c ? c.maxAbsLogitError.toExponential(1) : '-'}; halting steps ${JSON.stringify(run.stepCounts)}`;
}
