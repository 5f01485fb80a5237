/**
 * The gradient engine: one official training ACT step and its backward, in the native
 * addon, on float32 parameters the engine owns. A trainer drives it step after step:
 *
 *   const engine = GradientEngine.fromModel(model);
 *   engine.zeroGradients();
 *   const r = await engine.step({ inputs, labels, carry });   // gradients are added
 *   const g = engine.gradient('inner.lm_head.weight');        // a live view, no copy
 *   engine.parameter('inner.lm_head.weight')[0] -= lr * g[0];  // updated in place
 *
 * parameter() and gradient() return views of the engine's own memory (the same array on
 * every call): write parameters only between steps, never while a step is in flight.
 */
import { BackendError, OptionError } from '../errors';
import { resolveThreads } from '../backends/threads';
import { nativeSpec, resolveIsa } from '../backends/native';
import { modelDimensions, type ModelDimensions, type TrmConfig } from '../model/config';
import type { WeightMap } from '../model/weights';
import { loadAddon, translateNativeError, type NativeGradientEngineHandle, type NativeStepResult } from '../native/addon';
import { modelSource, type TrmModel } from '../trm-model';
import type { Carry, IsaName } from '../types';
import { normalizeTrainBatch, type NormalizedTrainBatch, type TrainBatch } from './batch';

export interface GradientEngineOptions {
  /** Worker threads (the calling thread counts). Default: all cores. */
  threads?: number;
  /** Kernel instruction set; default 'auto' (the best this CPU runs), or the TRM_ISA variable. */
  isa?: IsaName;
}

export interface ParameterInfo {
  /** The state_dict name without checkpoint prefix, e.g. `inner.lm_head.weight`. */
  name: string;
  shape: number[];
  /**
   * Whether the ACT loss trains it (it has a gradient). H_init and L_init are buffers; the
   * puzzle embedding is trained by its own sparse optimizer from `StepResult.puzzleEmbGrad`.
   */
  trained: boolean;
}

export interface StepResult {
  batch: number;
  /** lmLoss + 0.5 * qHaltLoss, summed over the batch (official ACTLossHead, no_ACT_continue). */
  loss: number;
  /** Stablemax cross-entropy per sample, averaged over its labelled positions, summed over samples. */
  lmLoss: number;
  /** Binary cross-entropy of q_halt against seqCorrect, summed over samples. */
  qHaltLoss: number;
  /** [batch] 1 where every labelled position is predicted right (a sample with no labelled position counts as right, as officially). */
  seqCorrect: Uint8Array;
  /** [batch * seq_len] argmax of the step's logits. */
  predictions: Int32Array;
  /** [batch] the step's Q-head logits. */
  qHalt: Float32Array;
  qContinue: Float32Array;
  /** The carry after the step, to enter the next one from. */
  carry: Carry;
  /**
   * Only for models with a puzzle embedding: its gradient for this step, summed over the
   * samples of each distinct identifier (ids ascending; grad [ids.length * puzzle_emb_ndim]).
   */
  puzzleEmbGrad?: { ids: Int32Array; grad: Float32Array };
}

export class GradientEngine {
  readonly config: TrmConfig;
  readonly dimensions: ModelDimensions;
  /** Every tensor of the model, in state_dict order. */
  readonly tensors: readonly ParameterInfo[];
  private handle: NativeGradientEngineHandle | null;

  private constructor(config: TrmConfig, handle: NativeGradientEngineHandle) {
    this.config = config;
    this.dimensions = modelDimensions(config);
    this.handle = handle;
    this.tensors = handle.tensors();
  }

  /** An engine over a copy of `weights` (canonical state_dict names, float32). */
  static create(config: TrmConfig, weights: WeightMap, options: GradientEngineOptions = {}): GradientEngine {
    if (typeof options !== 'object' || options === null) throw new OptionError('options must be an object', { field: 'options', value: options });
    if (config.no_ACT_continue === false) {
      // The Q-continue loss needs a second forward for its bootstrapped target; not implemented.
      throw new OptionError('training supports the official default no_ACT_continue: true only', {
        field: 'no_ACT_continue', value: false, expected: 'true',
      });
    }
    const threads = resolveThreads(options.threads);
    const isa = resolveIsa(options.isa);
    const addon = loadAddon();
    try {
      const handle = new addon.GradientEngine(nativeSpec(config), weights, isa === undefined ? { threads } : { threads, isa });
      return new GradientEngine(config, handle);
    } catch (e) {
      throw translateNativeError(e);
    }
  }

  /** An engine with the weights a loaded model was created from; by default its threads and ISA. */
  static fromModel(model: TrmModel, options: GradientEngineOptions = {}): GradientEngine {
    const { config, weights } = modelSource(model);
    const info = model.info;
    const isa = options.isa ?? (info.backend === 'native' && info.device === 'cpu' ? (info.isa as IsaName) : undefined);
    return GradientEngine.create(config, weights, { threads: options.threads ?? (info.device === 'cpu' ? info.threads : undefined), isa });
  }

  /** Names of the tensors that get a gradient, in state_dict order. */
  get trainedNames(): string[] {
    return this.tensors.filter((t) => t.trained).map((t) => t.name);
  }

  get isa(): string {
    return this.live().isa;
  }

  get threads(): number {
    return this.live().threads;
  }

  /** Bytes of activations kept for the backward, for the largest batch so far. */
  get tapeBytes(): number {
    return this.live().tapeBytes;
  }

  /** The engine's float32 copy of a tensor, as a live view: writes change the model the next step runs. */
  parameter(name: string): Float32Array {
    return this.call(() => this.live().parameter(name));
  }

  /** A trained tensor's accumulated gradient, as a live view. */
  gradient(name: string): Float32Array {
    return this.call(() => this.live().gradient(name));
  }

  /** Copies of every gradient, by name. */
  copyGradients(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const name of this.trainedNames) out[name] = this.gradient(name).slice();
    return out;
  }

  zeroGradients(): void {
    this.call(() => this.live().zeroGradients());
  }

  /** Runs one step off the event loop and adds its gradients to the engine's. */
  async step(batch: TrainBatch): Promise<StepResult> {
    const b = normalizeTrainBatch(batch, this.config, this.dimensions);
    let r: NativeStepResult;
    try {
      r = await this.live().step(this.toNative(b));
    } catch (e) {
      throw translateNativeError(e);
    }
    return this.shape(r, b.batch);
  }

  /** The same, blocking the calling thread. */
  stepSync(batch: TrainBatch): StepResult {
    const b = normalizeTrainBatch(batch, this.config, this.dimensions);
    return this.shape(this.call(() => this.live().stepSync(this.toNative(b))), b.batch);
  }

  /** Frees the engine; views already handed out stay readable. */
  dispose(): void {
    this.handle?.dispose();
    this.handle = null;
  }

  private live(): NativeGradientEngineHandle {
    if (!this.handle) {
      throw new BackendError('gradient engine has been disposed', { field: 'engine', expected: 'an engine that has not been disposed' });
    }
    return this.handle;
  }

  private call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw translateNativeError(e);
    }
  }

  private toNative(b: NormalizedTrainBatch) {
    return {
      batch: b.batch,
      inputs: b.inputs,
      labels: b.labels,
      puzzleIdentifiers: b.puzzleIdentifiers,
      carryZH: b.carry?.zH,
      carryZL: b.carry?.zL,
    };
  }

  private shape(r: NativeStepResult, batch: number): StepResult {
    const out: StepResult = {
      batch,
      loss: r.loss,
      lmLoss: r.lmLoss,
      qHaltLoss: r.qHaltLoss,
      seqCorrect: r.seqCorrect,
      predictions: r.predictions,
      qHalt: r.qHalt,
      qContinue: r.qContinue,
      carry: { zH: r.carryZH, zL: r.carryZL },
    };
    if (this.config.puzzle_emb_ndim > 0) out.puzzleEmbGrad = { ids: r.puzzleIds, grad: r.puzzleGrad };
    return out;
  }
}
