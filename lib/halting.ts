/**
 * The stopping rules, shared by every backend: the native and CUDA loops call the C++ twin
 * (native/core/act.h, `stop_reason`), the host ACT loop (lib/backends/act-loop.ts) calls
 * `stopReason`, and tests check that they agree step by step.
 *
 * After ACT step `step` (1-based) a sample stops by the first of these rules that fires:
 *   1. 'halt'        haltThreshold is not null, step >= minSteps and sigmoid(q_halt) > haltThreshold;
 *   2. 'confidence'  confidenceThreshold is not null, step >= minSteps and the step's
 *                    confidence (lib/trace.ts, the float32 value the trace records) >= confidenceThreshold;
 *   3. 'stable'      stableSteps is not null, step >= minSteps and the predictions have not
 *                    changed for stableSteps consecutive steps (see `nextUnchangedRun`);
 *   4. 'maxSteps'    step >= maxSteps.
 * That order is also the precedence when several fire at one step. With haltThreshold 0.5
 * (and no other rule) this is the official training rule (q_halt > 0); with every rule null
 * it is the official eval, which always runs maxSteps.
 */
import type { StopReason, TraceRecord } from './types';

export type { StopReason };

/** Every rule in precedence order; the native arrays store index + 1 (0: still running), as core/act.h StopReason. */
export const STOP_REASONS: readonly StopReason[] = ['halt', 'confidence', 'stable', 'maxSteps'];

export interface HaltingPolicy {
  maxSteps: number;
  minSteps: number;
  haltThreshold: number | null;
  confidenceThreshold: number | null;
  stableSteps: number | null;
}

/** sigmoid in float64, from the float32 logit. */
export function haltProbability(qHalt: number): number {
  return 1 / (1 + Math.exp(-qHalt));
}

/**
 * How many consecutive steps, ending at this one, left the predictions unchanged: `run + 1`
 * when this step's `changed` is 0, else 0. `changed` at step 1 counts against the input
 * tokens (as the trace's does), so step 1 counts as unchanged only when the argmax already
 * equals the input; otherwise the run starts at step 2 and stableSteps k can first fire at
 * step k + 1 (k = 2: the predictions of steps 1, 2 and 3 are equal).
 */
export function nextUnchangedRun(run: number, changed: number): number {
  return changed === 0 ? run + 1 : 0;
}

/**
 * The rule that stops a sample after step `step` (1-based), or null while it runs on.
 * `confidence` is the trace's float32 value; `unchangedRun` is `nextUnchangedRun` after this step.
 */
export function stopReason(step: number, qHalt: number, confidence: number, unchangedRun: number, policy: HaltingPolicy): StopReason | null {
  if (step >= policy.minSteps) {
    if (policy.haltThreshold !== null && haltProbability(qHalt) > policy.haltThreshold) return 'halt';
    if (policy.confidenceThreshold !== null && confidence >= policy.confidenceThreshold) return 'confidence';
    if (policy.stableSteps !== null && unchangedRun >= policy.stableSteps) return 'stable';
  }
  return step >= policy.maxSteps ? 'maxSteps' : null;
}

/** Whether any adaptive rule is on (without one every sample runs maxSteps). */
export function isAdaptive(policy: HaltingPolicy): boolean {
  return policy.haltThreshold !== null || policy.confidenceThreshold !== null || policy.stableSteps !== null;
}

/**
 * When sample `sample` would stop under `policy`, read off the trace of a run that did not
 * stop it earlier (a fixed-steps run of at least policy.maxSteps steps, say): samples never
 * interact, so a longer run's first steps are exactly the steps a shorter one takes. Null
 * when the trace ends before the sample would stop.
 */
export function replayStopping(trace: readonly TraceRecord[], sample: number, policy: HaltingPolicy): { step: number; reason: StopReason } | null {
  let run = 0;
  for (const record of trace) {
    run = nextUnchangedRun(run, record.changed[sample]);
    const reason = stopReason(record.step, record.qHalt[sample], record.confidence[sample], run, policy);
    if (reason !== null) return { step: record.step, reason };
  }
  return null;
}
