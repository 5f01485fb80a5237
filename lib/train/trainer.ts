/**
 * The official TRM training loop (pretrain.py + ACTLossHead + the ACT wrapper of trm.py) on
 * the native gradient engine:
 *
 *   every step: halted slots take the next (augmented) example and the initial carry;
 *               one ACT step of the whole batch with gradient (engine.step);
 *               halting: steps >= halt_max_steps, or q_halt > 0, unless exploration asks for
 *               a random minimum of 2..halt_max_steps steps (probability halt_exploration_prob);
 *               AdamW on the batch-mean gradient ((1 / batch) * summed loss, as officially),
 *               sign-SGD on the puzzle-embedding rows used, then the weights' EMA.
 *
 * All randomness comes from SeededRandom streams keyed by the seed and a counter (the data
 * position, the step), so a run is a pure function of (recipe, data, threads): two runs give
 * bit-identical weights, and a checkpoint (lib/train/checkpoint.ts) holds everything a resume
 * needs to continue exactly as if never stopped.
 */
import { OptionError } from '../errors';
import { evaluateModel, type EvalRun } from '../evaluate';
import { modelDimensions, parseConfig, type TrmConfig } from '../model/config';
import { randomWeights } from '../model/random';
import { SeededRandom } from '../util/seeded-random';
import type { WeightMap } from '../model/weights';
import { randomInt, type Example } from '../tasks/task';
import { createModel } from '../trm-model';
import type { IsaName } from '../types';
import { WeightAverage } from './ema';
import { GradientEngine } from './engine';
import { AdamW, globalGradientNorm, signSgdRows } from './optimizer';
import { resolveRecipe, type TrainingRecipe } from './recipe';
import { learningRateAt } from './schedule';
import { BatchSlots } from './slots';
import { TrainingStream, type Augmenter } from './sampler';

const PUZZLE_EMB = 'inner.puzzle_emb.weights';

export interface TrainerOptions {
  /** The model to train (official arch keys; extra keys such as `task` and `train_data` are kept in what is saved). */
  config: TrmConfig | Record<string, unknown>;
  /** The training set. */
  train: readonly Example[];
  /** A random label-preserving symmetry applied to every example drawn (a task's `augment`). */
  augment?: Augmenter;
  recipe?: Partial<TrainingRecipe>;
  /** Starting weights; default the official init seeded by the recipe's seed. */
  weights?: WeightMap;
  /** Engine and evaluation threads; a run is reproducible bit for bit at a fixed thread count. */
  threads?: number;
  isa?: IsaName;
}

/** What one optimizer step did; losses are batch means, as the official train/ metrics. */
export interface StepReport {
  step: number;
  lr: number;
  loss: number;
  lmLoss: number;
  qHaltLoss: number;
  /** Global norm of the batch-mean gradient, before clipping. */
  gradNorm: number;
  /** Examples that halted at this step (with at least one labelled position). */
  halted: number;
  /** Of those, how many were answered exactly right, and their ACT steps summed. */
  haltedCorrect: number;
  haltedSteps: number;
}

export interface HeldOutReport {
  step: number;
  /** Every example runs halt_max_steps steps (the official eval). */
  fixed: EvalRun;
  /** Adaptive halting at sigmoid(q_halt) > 0.5. */
  adaptive: EvalRun;
}

/** How long `run` trains, and when it evaluates and checkpoints. */
export interface RunOptions {
  /** Train until this step (default: the recipe's steps, which also shape the schedule). */
  until?: number;
  /** Evaluate and checkpoint every N steps (default: a tenth of `until`), and always at `until`. */
  evalEvery?: number;
  /** Held-out examples for each evaluation; none: checkpoints without a report. */
  evalExamples?: readonly Example[];
  /**
   * Stop after this many seconds of this call, at a checkpoint it forces, so nothing done is
   * lost and a resume (restore the saved state, run again) continues exactly.
   */
  timeLimit?: number;
  /** After every step. */
  onStep?(report: StepReport): void;
  /** At every checkpoint, after its evaluation: save here (e.g. saveCheckpoint). */
  onCheckpoint?(report: HeldOutReport | undefined): void | Promise<void>;
}

export interface RunResult {
  step: number;
  /** 'until': the last step was reached; 'timeLimit': the time limit stopped the run first. */
  stoppedBy: 'until' | 'timeLimit';
}

/** Everything that evolves during a run, as a checkpoint saves it. */
export interface TrainerState {
  step: number;
  streamPosition: number;
  elapsedSeconds: number;
  adamUpdates: number;
  /** Raw (non-averaged) weights, every tensor. */
  weights: WeightMap;
  firstMoments: WeightMap;
  secondMoments: WeightMap;
  /** EMA of the trained tensors (empty without EMA). */
  averages: WeightMap;
  slots: {
    inputs: Int32Array; labels: Int32Array; puzzleIdentifiers: Int32Array;
    steps: Int32Array; halted: Uint8Array; zH: Float32Array; zL: Float32Array;
  };
}

export class Trainer {
  readonly config: TrmConfig;
  readonly recipe: TrainingRecipe;
  readonly threads: number;
  step = 0;
  /** Wall time spent in this and earlier sessions of the run (resumes add up). */
  private elapsedBefore = 0;
  private readonly sessionStart = process.hrtime.bigint();
  private readonly isa?: IsaName;
  private readonly engine: GradientEngine;
  private readonly stream: TrainingStream;
  private readonly slots: BatchSlots;
  private readonly params = new Map<string, Float32Array>();
  private readonly grads = new Map<string, Float32Array>();
  private readonly optimizer: AdamW;
  private readonly average: WeightAverage | null;

  constructor(options: TrainerOptions) {
    if (typeof options !== 'object' || options === null) throw new OptionError('trainer options must be an object', { field: 'options', value: options });
    this.recipe = resolveRecipe(options.recipe);
    this.config = parseConfig({ ...options.config }, '<trainer config>');
    if (!Array.isArray(options.train) || options.train.length === 0) {
      throw new OptionError('nothing to train on', { field: 'train', value: Array.isArray(options.train) ? 0 : options.train, expected: 'at least one example' });
    }
    const weights = options.weights ?? randomWeights(this.config, { seed: this.recipe.seed });
    this.engine = GradientEngine.create(this.config, weights, { threads: options.threads, isa: options.isa });
    this.threads = this.engine.threads;
    this.isa = options.isa;
    for (const name of this.engine.trainedNames) {
      this.params.set(name, this.engine.parameter(name));
      this.grads.set(name, this.engine.gradient(name));
    }
    this.optimizer = new AdamW(
      { beta1: this.recipe.beta1, beta2: this.recipe.beta2, weightDecay: this.recipe.weightDecay, epsilon: this.recipe.epsilon },
      new Map([...this.params].map(([name, w]) => [name, w.length])),
    );
    this.average = this.recipe.emaRate > 0 ? new WeightAverage(this.recipe.emaRate, this.params) : null;
    this.stream = new TrainingStream(options.train, this.recipe.seed, options.augment);
    const { totalLen } = modelDimensions(this.config);
    this.slots = new BatchSlots(this.recipe.batch, this.config.seq_len, totalLen * this.config.hidden_size);
  }

  /** Examples drawn from the training stream so far (epochs = this / training-set size). */
  get examplesDrawn(): number {
    return this.stream.position;
  }

  get elapsedSeconds(): number {
    return this.elapsedBefore + Number(process.hrtime.bigint() - this.sessionStart) / 1e9;
  }

  /** One optimizer step of the official loop (see the file comment). */
  async trainStep(): Promise<StepReport> {
    const { recipe, config, slots, engine } = this;
    const B = recipe.batch;
    this.step++;
    slots.refill(() => this.stream.next(), engine.parameter('inner.H_init'), engine.parameter('inner.L_init'));

    engine.zeroGradients();
    const r = await engine.step({
      inputs: slots.inputs, labels: slots.labels, puzzleIdentifiers: slots.puzzleIdentifiers,
      carry: { zH: slots.zH, zL: slots.zL },
    });
    slots.zH = r.carry.zH;
    slots.zL = r.carry.zL;

    // Halting, after the step as officially: this step's outputs count for the metrics of
    // the examples that stop here; they leave the batch at the next refill.
    const maxSteps = config.halt_max_steps;
    const explore = new SeededRandom(recipe.seed, `halt ${this.step}`);
    let halted = 0, haltedCorrect = 0, haltedSteps = 0;
    for (let b = 0; b < B; b++) {
      const steps = ++slots.steps[b];
      let stop = steps >= maxSteps;
      if (maxSteps > 1) {
        stop ||= r.qHalt[b] > 0;
        // Drawn for every slot every step, so the stream's use does not depend on the outcome.
        const exploring = explore.uniform() < config.halt_exploration_prob;
        const minSteps = 2 + randomInt(explore, maxSteps - 1);
        if (exploring && steps < minSteps) stop = false;
      }
      slots.halted[b] = stop ? 1 : 0;
      if (stop && slots.labelled[b] > 0) {
        halted++;
        haltedCorrect += r.seqCorrect[b];
        haltedSteps += steps;
      }
    }

    // The official backward is of (1 / global_batch_size) * summed loss; the engine's
    // gradients are of the sum, so the scale (and any clipping) is folded into the update.
    let gradScale = 1 / B;
    const gradNorm = globalGradientNorm(this.grads.values(), gradScale);
    if (recipe.gradClip > 0 && gradNorm > recipe.gradClip) gradScale *= recipe.gradClip / gradNorm;
    const lr = learningRateAt(this.step, { lr: recipe.lr, warmupSteps: recipe.warmupSteps, totalSteps: recipe.steps, minRatio: recipe.lrMinRatio });
    this.optimizer.step(this.params, this.grads, lr, gradScale);
    if (config.puzzle_emb_ndim > 0 && r.puzzleEmbGrad) {
      const puzzleLr = learningRateAt(this.step, { lr: recipe.puzzleEmbLr, warmupSteps: recipe.warmupSteps, totalSteps: recipe.steps, minRatio: recipe.lrMinRatio });
      signSgdRows(engine.parameter(PUZZLE_EMB), config.puzzle_emb_ndim, r.puzzleEmbGrad.ids, r.puzzleEmbGrad.grad, puzzleLr, recipe.puzzleEmbWeightDecay);
    }
    this.average?.update(this.params);

    return {
      step: this.step, lr, loss: r.loss / B, lmLoss: r.lmLoss / B, qHaltLoss: r.qHaltLoss / B, gradNorm,
      halted, haltedCorrect, haltedSteps,
    };
  }

  /**
   * Trains step after step until `until`, evaluating and calling onCheckpoint every
   * `evalEvery` steps, at the end, and when the time limit stops it: the policy `trm train`
   * runs, here so that every caller (a service's training job too) gets the same.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    if (typeof options !== 'object' || options === null) throw new OptionError('run options must be an object', { field: 'options', value: options });
    const until = options.until ?? this.recipe.steps;
    if (!Number.isSafeInteger(until) || until < 1) throw new OptionError('invalid run option', { field: 'until', value: until, expected: 'an integer >= 1' });
    const evalEvery = options.evalEvery ?? Math.max(1, Math.ceil(until / 10));
    if (!Number.isSafeInteger(evalEvery) || evalEvery < 1) {
      throw new OptionError('invalid run option', { field: 'evalEvery', value: evalEvery, expected: 'an integer >= 1' });
    }
    const { timeLimit } = options;
    if (timeLimit !== undefined && !(typeof timeLimit === 'number' && timeLimit > 0)) {
      throw new OptionError('invalid run option', { field: 'timeLimit', value: timeLimit, expected: 'seconds > 0, or undefined' });
    }
    const examples = options.evalExamples ?? [];
    const start = Date.now();
    while (this.step < until) {
      const report = await this.trainStep();
      options.onStep?.(report);
      const outOfTime = timeLimit !== undefined && (Date.now() - start) / 1000 >= timeLimit;
      if (this.step % evalEvery === 0 || this.step === until || outOfTime) {
        const heldOut = examples.length > 0 ? await this.evaluate(examples) : undefined;
        await options.onCheckpoint?.(heldOut);
      }
      if (outOfTime && this.step < until) return { step: this.step, stoppedBy: 'timeLimit' };
    }
    return { step: this.step, stoppedBy: 'until' };
  }

  /**
   * The weights a model is made of: the EMA of each trained tensor (the raw weights without
   * EMA), and the buffers (H_init, L_init, the puzzle embedding) as they are. Copies.
   */
  modelWeights(): WeightMap {
    const out: WeightMap = {};
    for (const t of this.engine.tensors) {
      out[t.name] = (this.average?.averages.get(t.name) ?? this.engine.parameter(t.name)).slice();
    }
    return out;
  }

  /** Exact and token accuracy of the model weights on `examples`: fixed steps and adaptive halting. */
  async evaluate(examples: readonly Example[], batch = 64): Promise<HeldOutReport> {
    const model = createModel(this.config, this.modelWeights(), { threads: this.threads, isa: this.isa });
    try {
      const fixed = await evaluateModel(model, examples, { haltThreshold: null, batch });
      const adaptive = await evaluateModel(model, examples, { haltThreshold: 0.5, batch });
      return { step: this.step, fixed, adaptive };
    } finally {
      model.dispose();
    }
  }

  /** A copy of everything that evolves, for a checkpoint. */
  state(): TrainerState {
    const copy = (m: ReadonlyMap<string, Float32Array>): WeightMap => Object.fromEntries([...m].map(([k, v]) => [k, v.slice()]));
    const weights: WeightMap = {};
    for (const t of this.engine.tensors) weights[t.name] = this.engine.parameter(t.name).slice();
    const s = this.slots;
    return {
      step: this.step,
      streamPosition: this.stream.position,
      elapsedSeconds: this.elapsedSeconds,
      adamUpdates: this.optimizer.updates,
      weights,
      firstMoments: copy(this.optimizer.firstMoments),
      secondMoments: copy(this.optimizer.secondMoments),
      averages: this.average ? copy(this.average.averages) : {},
      slots: {
        inputs: s.inputs.slice(), labels: s.labels.slice(), puzzleIdentifiers: s.puzzleIdentifiers.slice(),
        steps: s.steps.slice(), halted: s.halted.slice(), zH: s.zH.slice(), zL: s.zL.slice(),
      },
    };
  }

  /** Puts a saved state back (the trainer must have been built with the same config, recipe and data). */
  restore(state: TrainerState): void {
    const put = (target: Float32Array, source: Float32Array | undefined, what: string) => {
      if (!source || source.length !== target.length) {
        throw new OptionError('saved training state does not fit this model', { field: what, value: source?.length, expected: `${target.length} values` });
      }
      target.set(source);
    };
    for (const t of this.engine.tensors) put(this.engine.parameter(t.name), state.weights[t.name], `weights.${t.name}`);
    for (const [name, m] of this.optimizer.firstMoments) put(m, state.firstMoments[name], `adam_m.${name}`);
    for (const [name, v] of this.optimizer.secondMoments) put(v, state.secondMoments[name], `adam_v.${name}`);
    if (this.average) for (const [name, a] of this.average.averages) put(a, state.averages[name], `ema.${name}`);
    const s = this.slots;
    const src = state.slots;
    const putInt = (target: Int32Array | Uint8Array, source: Int32Array | Uint8Array, what: string) => {
      if (source.length !== target.length) throw new OptionError('saved batch does not fit this recipe', { field: what, value: source.length, expected: `${target.length} values` });
      target.set(source);
    };
    putInt(s.inputs, src.inputs, 'slots.inputs');
    putInt(s.labels, src.labels, 'slots.labels');
    putInt(s.puzzleIdentifiers, src.puzzleIdentifiers, 'slots.puzzle_identifiers');
    putInt(s.steps, src.steps, 'slots.steps');
    putInt(s.halted, src.halted, 'slots.halted');
    put(s.zH, src.zH, 'slots.z_H');
    put(s.zL, src.zL, 'slots.z_L');
    for (let b = 0; b < s.size; b++) {
      let n = 0;
      for (let t = 0; t < s.seqLen; t++) if (s.labels[b * s.seqLen + t] !== -100) n++;
      s.labelled[b] = n;
    }
    this.step = state.step;
    this.stream.position = state.streamPosition;
    this.optimizer.updates = state.adamUpdates;
    this.elapsedBefore = state.elapsedSeconds - Number(process.hrtime.bigint() - this.sessionStart) / 1e9;
  }

  dispose(): void {
    this.engine.dispose();
  }
}
