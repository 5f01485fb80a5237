/** The native backend: the fused C++ operator through the addon. */
import * as os from 'node:os';
import { OptionError } from '../errors';
import { modelDimensions, type TrmConfig } from '../model/config';
import type { WeightMap } from '../model/weights';
import { loadAddon, translateNativeError, type NativeModelHandle, type NativeRequest, type NativeResult, type NativeSpec } from '../native/addon';
import type { InferRequest } from '../request';
import { splitTrace } from '../trace';
import type { Precision } from '../types';
import type { Backend, BackendResult } from './backend';

export interface NativeBackendOptions {
  threads?: number;
  isa?: string;
  precision?: Precision;
}

export function nativeSpec(config: TrmConfig): NativeSpec {
  const dims = modelDimensions(config);
  return {
    seqLen: config.seq_len,
    vocabSize: config.vocab_size,
    hiddenSize: config.hidden_size,
    numHeads: config.num_heads,
    hCycles: config.H_cycles,
    lCycles: config.L_cycles,
    lLayers: config.L_layers,
    haltMaxSteps: config.halt_max_steps,
    posEncoding: config.pos_encodings,
    mlpT: config.mlp_t,
    puzzleEmbNdim: config.puzzle_emb_ndim,
    puzzleEmbLen: dims.puzzleEmbLen,
    numPuzzleIdentifiers: config.num_puzzle_identifiers,
    rmsNormEps: config.rms_norm_eps,
    ropeTheta: config.rope_theta,
    mlpInter: dims.mlpInter,
    mlpTInter: dims.mlpTInter,
  };
}

/** The CPU's instruction sets this build can use, best first. */
export function supportedIsas(): string[] {
  return loadAddon().supportedIsas();
}

/** The ISA a native handle should use: undefined for the best one, or a checked name. */
export function resolveIsa(requested: string | undefined): string | undefined {
  const isa = requested ?? process.env.TRM_ISA;
  if (isa === undefined || isa === '' || isa === 'auto') return undefined;
  const supported = supportedIsas();
  if (!supported.includes(isa)) {
    throw new OptionError('instruction set not available', {
      field: requested !== undefined ? 'isa' : 'TRM_ISA', value: isa, expected: `'auto' or one of ${supported.join(', ')} (on this CPU and build)`,
    });
  }
  return isa;
}

export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  private handle: NativeModelHandle;
  private readonly seqLen: number;
  private readonly vocab: number;

  constructor(config: TrmConfig, weights: WeightMap, options: NativeBackendOptions = {}) {
    const threads = options.threads ?? (os.availableParallelism?.() ?? os.cpus().length);
    if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
      throw new OptionError('invalid option', { field: 'threads', value: threads, expected: 'an integer in [1, 1024]' });
    }
    const isa = resolveIsa(options.isa);
    const addon = loadAddon();
    try {
      const precision = options.precision ?? 'fp32';
      this.handle = new addon.NativeModel(nativeSpec(config), weights, isa === undefined ? { threads, precision } : { threads, isa, precision });
    } catch (e) {
      throw translateNativeError(e);
    }
    this.seqLen = config.seq_len;
    this.vocab = config.vocab_size;
  }

  get isa(): string {
    return this.handle.isa;
  }

  get threads(): number {
    return this.handle.threads;
  }

  get precision(): Precision {
    return this.handle.precision;
  }

  get bf16Compute(): string | null {
    return this.handle.bf16Compute;
  }

  get int8Compute(): string | null {
    return this.handle.int8Compute;
  }

  get linearKernel(): string {
    return this.handle.linearKernel;
  }

  get amxUnavailable(): string | null {
    return this.handle.amxStatus;
  }

  async run(request: InferRequest): Promise<BackendResult> {
    let result: NativeResult;
    try {
      result = await this.handle.infer(this.toNative(request));
    } catch (e) {
      throw translateNativeError(e);
    }
    return this.fromNative(result, request.batch);
  }

  runSync(request: InferRequest): BackendResult {
    try {
      return this.fromNative(this.handle.inferSync(this.toNative(request)), request.batch);
    } catch (e) {
      throw translateNativeError(e);
    }
  }

  dispose(): void {
    this.handle.dispose();
  }

  private toNative(r: InferRequest): NativeRequest {
    return toNativeRequest(r);
  }

  private fromNative(n: NativeResult, batch: number): BackendResult {
    return fromNativeResult(n, batch, this.seqLen, this.vocab);
  }
}

/** A checked request in the addon's shape (shared with the CUDA backend). */
export function toNativeRequest(r: InferRequest): NativeRequest {
  return {
    batch: r.batch,
    inputs: r.inputs,
    puzzleIdentifiers: r.puzzleIdentifiers,
    carryZH: r.carry?.zH,
    carryZL: r.carry?.zL,
    maxSteps: r.maxSteps,
    minSteps: r.minSteps,
    haltThreshold: r.haltThreshold,
    trace: r.trace,
    traceLogits: r.traceLogits,
    returnCarry: r.returnCarry,
  };
}

/** The addon's result as a BackendResult (shared with the CUDA backend). */
export function fromNativeResult(n: NativeResult, batch: number, seqLen: number, vocab: number): BackendResult {
  const out: BackendResult = { predictions: n.predictions, logits: n.logits, steps: n.steps, qHalt: n.qHalt, qContinue: n.qContinue };
  if (n.trace) out.trace = splitTrace(n.trace, n.traceSteps, batch, batch * seqLen * vocab);
  if (n.carryZH && n.carryZL) out.carry = { zH: n.carryZH, zL: n.carryZL };
  return out;
}
