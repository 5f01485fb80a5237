/**
 * The halting policy, shared by every backend: the native kernel implements the same rule
 * in C++ (native/core/recursion.cc) and tests check that the two agree step by step.
 *
 * After ACT step `step` (1-based) a sample halts when
 *   step >= maxSteps, or
 *   haltThreshold is not null, step >= minSteps and sigmoid(q_halt) > haltThreshold.
 * With haltThreshold 0.5 this is the official training rule (q_halt > 0); with null it is
 * the official eval, which always runs maxSteps.
 */
export interface HaltingPolicy {
  maxSteps: number;
  minSteps: number;
  haltThreshold: number | null;
}

/** sigmoid in float64, from the float32 logit. */
export function haltProbability(qHalt: number): number {
  return 1 / (1 + Math.exp(-qHalt));
}

export function shouldHalt(step: number, qHalt: number, policy: HaltingPolicy): boolean {
  if (step >= policy.maxSteps) return true;
  return policy.haltThreshold !== null && step >= policy.minSteps && haltProbability(qHalt) > policy.haltThreshold;
}
