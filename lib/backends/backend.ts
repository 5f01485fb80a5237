/** The interface every backend implements: one checked request in, raw result arrays out. */
import type { InferRequest } from '../request';
import type { BackendName, Carry, Device, Precision, TraceRecord } from '../types';

export interface BackendResult {
  predictions: Int32Array;
  logits: Float32Array;
  steps: Int32Array;
  qHalt: Float32Array;
  qContinue: Float32Array;
  trace?: TraceRecord[];
  carry?: Carry;
}

export interface Backend {
  readonly name: BackendName;
  /** Where it computes; absent means 'cpu'. */
  readonly device?: Device;
  readonly isa: string;
  readonly threads: number;
  readonly precision: Precision;
  readonly bf16Compute: string | null;
  /** Native CPU only (absent elsewhere): ModelInfo's int8Compute, linearKernel, amxUnavailable. */
  readonly int8Compute?: string | null;
  readonly linearKernel?: string;
  readonly amxUnavailable?: string | null;
  run(request: InferRequest): Promise<BackendResult>;
  /** Blocking variant; a backend that can only run asynchronously throws BackendError. */
  runSync(request: InferRequest): BackendResult;
  dispose(): void;
}
