/**
 * The learning-rate schedule of the official pretrain.py (`cosine_schedule_with_warmup_lr_lambda`):
 * a linear warmup from 0, then a half cosine from the base rate down to `minRatio` times it.
 * `minRatio` 1 (the official cfg_pretrain.yaml default) keeps the rate constant after warmup.
 */
export interface LearningRateSchedule {
  /** The rate after warmup. */
  lr: number;
  /** Steps of linear warmup. */
  warmupSteps: number;
  /** The step the cosine reaches its end at (the run's total steps). */
  totalSteps: number;
  /** The rate at the end, as a fraction of `lr`: 1 is constant, 0 decays to zero. */
  minRatio: number;
}

/**
 * The rate of optimizer step `step`, counted from 1 as in pretrain.py (which increments the
 * step before computing the rate, so the first update is already `lr / warmupSteps`).
 */
export function learningRateAt(step: number, s: LearningRateSchedule): number {
  if (step < s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return s.lr * (s.minRatio + Math.max(0, (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress))));
}
