/** The native backend: the fused C++ operator through the addon, on the CPU or on CUDA. */
import { BackendError, OptionError } from '../errors';
import { modelDimensions, type TrmConfig } from '../model/config';
import type { WeightMap } from '../model/weights';
import {
  loadAddon, translateNativeError, type CudaModelHandle, type NativeAddon, type NativeModelHandle, type NativeRequest, type NativeResult, type NativeSpec,
} from '../native/addon';
import type { InferRequest } from '../request';
import { splitTrace, stopReasonOfCode } from '../trace';
import type { Device, Precision, StopReason } from '../types';
import type { Backend, BackendResult } from './backend';

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

/** What this process can run on CUDA. */
export interface CudaAvailability {
  /** The addon was compiled with the CUDA backend (TRM_CUDA=ON, or AUTO on a machine with nvcc and a driver). */
  built: boolean;
  /** Usable GPUs (compute capability 8.0 or newer) the driver reports; 0 when not built. */
  devices: number;
  /** Why `devices` is 0, in words. */
  reason?: string;
}

const REBUILD = 'rebuild with `TRM_CUDA=ON npm run build:native` (needs nvcc) on a machine with an NVIDIA driver';

/** Whether device 'cuda' can run here, and why not. Never throws for a missing GPU. */
export function cudaAvailable(): CudaAvailability {
  const addon = loadAddon();
  if (typeof addon.cudaAvailable !== 'function') {
    return { built: false, devices: 0, reason: `this addon predates the CUDA backend; ${REBUILD}` };
  }
  const s = addon.cudaAvailable();
  const out: CudaAvailability = { built: s.built, devices: s.devices };
  if (s.reason !== undefined) out.reason = s.built || s.reason.includes('TRM_CUDA=ON') ? s.reason : `${s.reason}; ${REBUILD}`;
  return out;
}

export interface NativeBackendOptions {
  device: Device;
  /** CPU only: checked by resolveLoadOptions. */
  threads: number;
  isa?: string;
  precision: Precision;
}

/** The handle both native models share: the CPU model (NativeModel) and the CUDA model (CudaModel). */
type ModelHandle = NativeModelHandle | CudaModelHandle;

/**
 * The fused operator through the addon, on the CPU or on an NVIDIA GPU (native/cuda; the
 * CUDA path is UNVERIFIED ON HARDWARE, see native/cuda/README.md). One request and result
 * shape for both devices.
 */
export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly device: Device;
  private readonly handle: ModelHandle;
  private readonly seqLen: number;
  private readonly vocab: number;

  constructor(config: TrmConfig, weights: WeightMap, options: NativeBackendOptions) {
    this.device = options.device;
    const addon = loadAddon();
    const create = this.device === 'cuda' ? cudaConstructor(addon) : undefined;
    const isa = this.device === 'cpu' ? resolveIsa(options.isa) : undefined;
    const { threads, precision } = options;
    try {
      this.handle = create !== undefined
        ? new create(nativeSpec(config), weights, { precision })
        : new addon.NativeModel(nativeSpec(config), weights, isa === undefined ? { threads, precision } : { threads, isa, precision });
    } catch (e) {
      throw translateNativeError(e);
    }
    this.seqLen = config.seq_len;
    this.vocab = config.vocab_size;
  }

  /** The kernel table's ISA, or the GPU, e.g. "cuda:NVIDIA H100 80GB HBM3 (sm_90)". */
  get isa(): string {
    return 'deviceName' in this.handle ? `cuda:${this.handle.deviceName}` : this.handle.isa;
  }

  get threads(): number {
    return 'threads' in this.handle ? this.handle.threads : 1;
  }

  get precision(): Precision {
    return this.handle.precision;
  }

  get bf16Compute(): string | null {
    if ('bf16Compute' in this.handle) return this.handle.bf16Compute;
    return this.handle.precision === 'bf16' ? 'mma.sync bf16' : null;
  }

  get int8Compute(): string | null {
    return 'int8Compute' in this.handle ? this.handle.int8Compute : null;
  }

  get linearKernel(): string {
    return 'linearKernel' in this.handle ? this.handle.linearKernel : `cuda ${this.handle.precision}`;
  }

  /** Why the AMX table is not in use (null when it is, or on CUDA, where it does not apply). */
  get amxUnavailable(): string | null {
    return 'amxStatus' in this.handle ? this.handle.amxStatus : null;
  }

  get oneThreadBelowBatch(): number | undefined {
    return 'oneThreadBelowBatch' in this.handle ? this.handle.oneThreadBelowBatch : undefined;
  }

  async run(request: InferRequest): Promise<BackendResult> {
    let result: NativeResult;
    try {
      result = await this.handle.infer(toNativeRequest(request));
    } catch (e) {
      throw translateNativeError(e);
    }
    return fromNativeResult(result, request.batch, this.seqLen, this.vocab);
  }

  runSync(request: InferRequest): BackendResult {
    try {
      return fromNativeResult(this.handle.inferSync(toNativeRequest(request)), request.batch, this.seqLen, this.vocab);
    } catch (e) {
      throw translateNativeError(e);
    }
  }

  dispose(): void {
    this.handle.dispose();
  }
}

/** The addon's CudaModel, or a BackendError that says why device 'cuda' cannot run here. */
function cudaConstructor(addon: NativeAddon): NonNullable<NativeAddon['CudaModel']> {
  const status = cudaAvailable();
  if (!status.built) {
    throw new BackendError('this build of trm-node has no CUDA backend', {
      field: 'device', value: 'cuda', expected: `'cpu', or a build with CUDA (${status.reason ?? REBUILD})`,
    });
  }
  if (status.devices === 0) {
    throw new BackendError('no usable CUDA GPU', {
      field: 'device', value: 'cuda', expected: `'cpu', or a machine with an NVIDIA GPU of compute capability 8.0+ and its driver (${status.reason ?? 'none found'})`,
    });
  }
  if (addon.CudaModel === undefined) throw new BackendError('this addon has no CudaModel', { field: 'device', value: 'cuda', expected: REBUILD });
  return addon.CudaModel;
}

/** A checked request in the addon's shape. */
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
    confidenceThreshold: r.confidenceThreshold,
    stableSteps: r.stableSteps,
    hCycles: r.hCycles,
    lCycles: r.lCycles,
    trace: r.trace,
    traceLogits: r.traceLogits,
    returnCarry: r.returnCarry,
  };
}

/** The addon's result as a BackendResult. */
export function fromNativeResult(n: NativeResult, batch: number, seqLen: number, vocab: number): BackendResult {
  // Every sample has stopped by the time the call returns, so no code is 0 here.
  const stoppedBy = Array.from(n.stoppedBy, (code) => stopReasonOfCode(code) as StopReason);
  const out: BackendResult = { predictions: n.predictions, logits: n.logits, steps: n.steps, qHalt: n.qHalt, qContinue: n.qContinue, stoppedBy };
  if (n.trace) out.trace = splitTrace(n.trace, n.traceSteps, batch, batch * seqLen * vocab);
  if (n.carryZH && n.carryZL) out.carry = { zH: n.carryZH, zL: n.carryZL };
  return out;
}
