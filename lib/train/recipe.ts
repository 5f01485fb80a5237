/**
 * The training recipe: every hyperparameter of a run in one JSON-able object, checked once.
 * Names follow the official pretrain.py / cfg_pretrain.yaml where there is one (lr,
 * lr_min_ratio, lr_warmup_steps, weight_decay, beta1, beta2, puzzle_emb_lr,
 * puzzle_emb_weight_decay, ema_rate, seed; batch = global_batch_size). The defaults are
 * the official ones, except lr and warmup, which are sized for runs of thousands of steps on
 * a CPU rather than the official tens of thousands on GPUs.
 */
import { OptionError } from '../errors';
import { checkTrainingSeed } from '../tasks/splits';

export interface TrainingRecipe {
  /** Optimizer steps (one ACT step of the whole persistent batch each). */
  steps: number;
  /** Slots of the persistent batch (the official global_batch_size). */
  batch: number;
  lr: number;
  /** The rate at the end of the cosine, as a fraction of lr; 1 (official default) is constant. */
  lrMinRatio: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  puzzleEmbLr: number;
  puzzleEmbWeightDecay: number;
  /** Global gradient-norm clip (of the batch-mean gradient); 0 turns clipping off (official: off). */
  gradClip: number;
  /** EMA rate of the weights that are evaluated and saved; 0 saves the raw weights (no EMA). */
  emaRate: number;
  /** Seeds the initial weights, the data order, augmentations and halting exploration. */
  seed: number;
}

export const DEFAULT_RECIPE: TrainingRecipe = {
  steps: 2000,
  batch: 64,
  lr: 1e-3,
  lrMinRatio: 1,
  warmupSteps: 100,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  epsilon: 1e-8,
  puzzleEmbLr: 1e-2,
  puzzleEmbWeightDecay: 0.1,
  gradClip: 0,
  emaRate: 0.999,
  seed: 0,
};

type Range = [min: number, max: number, integer: boolean];
const RANGES: Record<keyof TrainingRecipe, Range> = {
  steps: [1, 1e9, true],
  batch: [1, 65536, true],
  lr: [0, 10, false],
  lrMinRatio: [0, 1, false],
  warmupSteps: [0, 1e9, true],
  weightDecay: [0, 100, false],
  beta1: [0, 0.999999, false],
  beta2: [0, 0.999999, false],
  epsilon: [0, 1, false],
  puzzleEmbLr: [0, 10, false],
  puzzleEmbWeightDecay: [0, 100, false],
  gradClip: [0, 1e9, false],
  emaRate: [0, 0.999999, false],
  seed: [0, Number.MAX_SAFE_INTEGER, true],
};

/** The defaults with `overrides` applied, every field checked (an unknown key is an error, so typos surface). */
export function resolveRecipe(overrides: Partial<TrainingRecipe> = {}): TrainingRecipe {
  if (typeof overrides !== 'object' || overrides === null) throw new OptionError('the recipe must be an object', { field: 'recipe', value: overrides });
  for (const key of Object.keys(overrides)) {
    if (!(key in RANGES)) throw new OptionError('unknown training option', { field: key, expected: Object.keys(RANGES).join(', ') });
  }
  const recipe = { ...DEFAULT_RECIPE };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const [min, max, integer] = RANGES[key as keyof TrainingRecipe];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new OptionError('training option out of range', { field: key, value, expected: `${integer ? 'an integer' : 'a number'} in [${min}, ${max}]` });
    }
    recipe[key as keyof TrainingRecipe] = value;
  }
  checkTrainingSeed(recipe.seed);
  return recipe;
}
