/**
 * Thresholds for the stopping-rule tests, chosen from a fixed-steps trace with margins, so
 * that float32 differences between two runs (another batch split, another backend) cannot
 * move a sample across a threshold. Shared by test/api/halting.test.ts,
 * test/parity/act-loop.test.ts and test/parity/native-vs-onnx.test.ts.
 */
import { replayStopping, type HaltingPolicy, type StopReason } from '../../lib/halting';
import type { TraceRecord } from '../../lib/types';

/** A threshold closer than this to a value it decides on could flip with rounding. */
export const MIN_STOP_MARGIN = 1e-4;

/**
 * values[s][b]: a quantity of sample b after step s + 1 (halt probability, confidence).
 * Returns the threshold (a rule firing when the value exceeds it) that spreads the stopping
 * steps most (the most distinct steps, then the most samples stopping early, then the widest
 * margin), and its margin to every value that decides a step. Margins at or below
 * MIN_STOP_MARGIN are never chosen; `margin` 0 means no threshold qualified.
 */
export function pickThreshold(values: number[][], batch: number): { threshold: number; margin: number } {
  const sorted = [...new Set(values.flat())].sort((a, b) => a - b);
  const candidates = sorted.slice(1).map((p, i) => (p + sorted[i]) / 2);
  candidates.push(sorted[0] - 0.01, sorted[sorted.length - 1] + 0.01);
  let best = { threshold: 0.5, margin: 0, distinct: 0, early: 0 };
  for (const t of candidates) {
    if (!(t > 0 && t < 1)) continue;
    let margin = Infinity, early = 0;
    const steps = new Set<number>();
    for (let b = 0; b < batch; b++) {
      let s = 0;
      while (s < values.length) {
        margin = Math.min(margin, Math.abs(values[s][b] - t));
        if (values[s++][b] > t) break;
      }
      steps.add(s);
      if (s < values.length) early++;
    }
    const better = steps.size > best.distinct || (steps.size === best.distinct && (early > best.early || (early === best.early && margin > best.margin)));
    if (margin > MIN_STOP_MARGIN && better) best = { threshold: t, margin, distinct: steps.size, early };
  }
  return { threshold: best.threshold, margin: best.margin };
}

/** Where every sample of a fixed-steps trace stops under `policy` (lib/halting.ts replayStopping). */
export function expectedStops(trace: readonly TraceRecord[], batch: number, policy: HaltingPolicy): { steps: number[]; stoppedBy: StopReason[] } {
  const stops = Array.from({ length: batch }, (_, b) => {
    const stop = replayStopping(trace, b, policy);
    if (stop === null) throw new Error(`the fixed trace (${trace.length} steps) is shorter than policy.maxSteps ${policy.maxSteps}`);
    return stop;
  });
  return { steps: stops.map((s) => s.step), stoppedBy: stops.map((s) => s.reason) };
}

/**
 * The smallest distance between the rules' thresholds and the trace values they compared
 * on the way to the expected stops (steps minSteps..stop of each sample): the margin that
 * makes the expectation safe against rounding. Infinity when no threshold rule is on.
 */
export function decisionMargin(trace: readonly TraceRecord[], stops: readonly number[], policy: HaltingPolicy): number {
  let margin = Infinity;
  stops.forEach((stop, b) => {
    for (let s = policy.minSteps; s <= stop; s++) {
      const record = trace[s - 1];
      if (policy.haltThreshold !== null) margin = Math.min(margin, Math.abs(record.haltProbability[b] - policy.haltThreshold));
      if (policy.confidenceThreshold !== null) margin = Math.min(margin, Math.abs(record.confidence[b] - policy.confidenceThreshold));
    }
  });
  return margin;
}
