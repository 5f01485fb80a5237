/**
 * The CUDA backend: the same fused operator on an NVIDIA GPU (native/cuda), through the addon.
 * UNVERIFIED ON HARDWARE: it builds with TRM_CUDA=ON but has not yet run on a GPU (see
 * native/cuda/README.md).
 */
import { BackendError, OptionError } from '../errors';
import type { TrmConfig } from '../model/config';
import type { WeightMap } from '../model/weights';
import { loadAddon, translateNativeError, type CudaModelHandle, type NativeResult } from '../native/addon';
import type { InferRequest } from '../request';
import type { Precision } from '../types';
import type { Backend, BackendResult } from './backend';
import { fromNativeResult, nativeSpec, toNativeRequest } from './native';

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

export interface CudaBackendOptions {
  precision?: Precision;
}

export class CudaBackend implements Backend {
  readonly name = 'native' as const;
  readonly device = 'cuda' as const;
  readonly threads = 1;
  private handle: CudaModelHandle;
  private readonly seqLen: number;
  private readonly vocab: number;

  constructor(config: TrmConfig, weights: WeightMap, options: CudaBackendOptions = {}) {
    const precision = options.precision ?? 'fp32';
    if (precision !== 'fp32' && precision !== 'bf16') {
      throw new OptionError(precision === 'int8' ? "int8 runs on device 'cpu' only" : 'unknown precision', { field: 'precision', value: precision, expected: "'fp32' or 'bf16' with device 'cuda'" });
    }
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
    const addon = loadAddon();
    if (addon.CudaModel === undefined) throw new BackendError('this addon has no CudaModel', { field: 'device', value: 'cuda', expected: REBUILD });
    try {
      this.handle = new addon.CudaModel(nativeSpec(config), weights, { precision });
    } catch (e) {
      throw translateNativeError(e);
    }
    this.seqLen = config.seq_len;
    this.vocab = config.vocab_size;
  }

  /** The GPU, e.g. "cuda:NVIDIA H100 80GB HBM3 (sm_90)". */
  get isa(): string {
    return `cuda:${this.handle.deviceName}`;
  }

  get precision(): Precision {
    return this.handle.precision;
  }

  get bf16Compute(): string | null {
    return this.handle.precision === 'bf16' ? 'mma.sync bf16' : null;
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
