/**
 * The per-step trace, shared by every backend. The native and CUDA loops compute the same
 * statistics in C++ (native/core/act.h, read_sample / read_position); `stepStatistics` is
 * the TypeScript definition that tests hold them to, and that host-loop backends use directly.
 */
import { STOP_REASONS, type StopReason } from './halting';
import type { TraceRecord } from './types';

export interface StepStatistics {
  /** Positions whose argmax differs from `previous` (which is updated in place). */
  changed: number;
  /**
   * Mean over positions of the largest softmax probability (summed in float64), rounded to
   * float32: the value the trace records and the confidence rule compares.
   */
  confidence: number;
}

/** argmax per position (first maximum wins, as torch.argmax), changes and confidence of one sample. */
export function stepStatistics(logits: ArrayLike<number>, offset: number, seqLen: number, vocab: number, previous: Int32Array, previousOffset: number): StepStatistics {
  let changed = 0;
  let confidence = 0;
  for (let t = 0; t < seqLen; t++) {
    const row = offset + t * vocab;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[row + v] > logits[row + best]) best = v;
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[row + v] - logits[row + best]);
    confidence += 1 / sum;
    if (previous[previousOffset + t] !== best) changed++;
    previous[previousOffset + t] = best;
  }
  return { changed, confidence: Math.fround(confidence / seqLen) };
}

/** The stop reason of a native code (core/act.h StopReason: 0 running, then STOP_REASONS in order). */
export function stopReasonOfCode(code: number): StopReason | null {
  return code === 0 ? null : STOP_REASONS[code - 1];
}

/**
 * A trace as step-major flat arrays: each TraceRecord field, [steps * batch] long (logits
 * [steps * batch * seqLen * vocab]); stoppedBy as native codes (`stopReasonOfCode`).
 */
export type FlatTrace = Omit<TraceRecord, 'step' | 'stoppedBy'> & { stoppedBy: Uint8Array };

/** Splits step-major flat arrays ([steps * batch]) into one record per step. */
export function splitTrace(flat: FlatTrace, steps: number, batch: number, logitsPerStep: number): TraceRecord[] {
  const records: TraceRecord[] = [];
  for (let s = 0; s < steps; s++) {
    const a = s * batch, b = a + batch;
    const record: TraceRecord = {
      step: s + 1,
      qHalt: flat.qHalt.slice(a, b),
      qContinue: flat.qContinue.slice(a, b),
      haltProbability: flat.haltProbability.slice(a, b),
      halted: flat.halted.slice(a, b),
      changed: flat.changed.slice(a, b),
      confidence: flat.confidence.slice(a, b),
      stoppedBy: Array.from(flat.stoppedBy.subarray(a, b), stopReasonOfCode),
    };
    if (flat.logits) record.logits = flat.logits.slice(s * logitsPerStep, (s + 1) * logitsPerStep);
    records.push(record);
  }
  return records;
}
