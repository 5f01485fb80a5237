/**
 * The contract between the model and its backends: the interface every backend implements
 * (one checked request in, raw result arrays out) and the load options it is created with.
 */
import type { InferRequest } from '../request';
import type { BackendName, Carry, Device, LoadOptions, Precision, StopReason, TraceRecord } from '../types';

export type LoadOptionName = keyof LoadOptions;

/** Load options after resolution (backends/load-options.ts): every default filled in. */
export interface ResolvedLoadOptions {
  backend: string;
  device: Device;
  threads: number;
  /** undefined: the best ISA this CPU runs (or TRM_ISA); resolved by the native backend. */
  isa?: string;
  precision: Precision;
  gradients: boolean;
  /** The per-call caps (trm-model.ts resolves the defaults against the model). */
  maxBatch?: number;
  maxStepsLimit?: number;
}

export interface BackendResult {
  predictions: Int32Array;
  logits: Float32Array;
  steps: Int32Array;
  qHalt: Float32Array;
  qContinue: Float32Array;
  /** [batch] the rule that stopped each sample. */
  stoppedBy: StopReason[];
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
  /** Native CPU only (absent elsewhere): ModelInfo's int8Compute, linearKernel, amxUnavailable, oneThreadBelowBatch. */
  readonly int8Compute?: string | null;
  readonly linearKernel?: string;
  readonly amxUnavailable?: string | null;
  readonly oneThreadBelowBatch?: number;
  run(request: InferRequest): Promise<BackendResult>;
  /** Blocking variant; a backend that can only run asynchronously throws BackendError. */
  runSync(request: InferRequest): BackendResult;
  dispose(): void;
}
