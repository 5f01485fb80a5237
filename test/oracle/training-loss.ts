/**
 * The official training loss of one ACT step in float64, in plain TypeScript, for the
 * finite-difference checks of the native gradients (models/losses.py, ACTLossHead with
 * stablemax_cross_entropy and no_ACT_continue):
 *
 *   lm     = sum_b sum_{t labelled} -log stablemax(logits[b, t])[label] / max(labelled_b, 1)
 *   q_halt = sum_b BCE-with-logits(q_halt[b], seq_correct[b])
 *   total  = lm + 0.5 * q_halt
 *
 * seq_correct[b] = (labelled positions predicted right == labelled positions), so a sample
 * with every position ignored counts as correct, exactly as the official expression does.
 */
import type { TrmConfig } from '../../lib/model/config';
import { referenceStep, type OracleBatch, type OracleWeights } from './reference';

export const IGNORE_LABEL_ID = -100;

export interface OracleLoss {
  total: number;
  lm: number;
  qHalt: number;
  seqCorrect: boolean[];
}

/** Official `s(x)`: 1 / (1 - x + eps) for x < 0, x + 1 otherwise (eps = 1e-30, as in float64). */
function stablemaxS(x: number): number {
  return x < 0 ? 1 / (1 - x + 1e-30) : x + 1;
}

export function referenceActLoss(config: TrmConfig, logits: Float64Array, qHalt: Float64Array, labels: Int32Array): OracleLoss {
  const S = config.seq_len;
  const V = config.vocab_size;
  const B = qHalt.length;
  let lm = 0;
  let qLoss = 0;
  const seqCorrect: boolean[] = [];
  for (let b = 0; b < B; b++) {
    let labelled = 0;
    let correct = 0;
    let sampleLoss = 0;
    for (let t = 0; t < S; t++) {
      const label = labels[b * S + t];
      if (label === IGNORE_LABEL_ID) continue;
      const row = logits.subarray((b * S + t) * V, (b * S + t + 1) * V);
      let argmax = 0;
      let sum = 0;
      for (let v = 0; v < V; v++) {
        if (row[v] > row[argmax]) argmax = v;
        sum += stablemaxS(row[v]);
      }
      labelled++;
      if (argmax === label) correct++;
      sampleLoss -= Math.log(stablemaxS(row[label]) / sum);
    }
    lm += sampleLoss / Math.max(labelled, 1);
    const isCorrect = correct === labelled;
    seqCorrect.push(isCorrect);
    // binary_cross_entropy_with_logits: max(x, 0) - x y + log(1 + exp(-|x|)).
    const x = qHalt[b];
    const y = isCorrect ? 1 : 0;
    qLoss += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return { total: lm + 0.5 * qLoss, lm, qHalt: qLoss, seqCorrect };
}

/** One official training step's loss from the given carry, entirely in float64. */
export function referenceStepLoss(config: TrmConfig, weights: OracleWeights, batch: OracleBatch, labels: Int32Array): OracleLoss {
  const step = referenceStep(config, weights, batch);
  return referenceActLoss(config, step.logits, step.qHalt, labels);
}
