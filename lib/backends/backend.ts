/** The interface every backend implements: one checked request in, raw result arrays out. */
import type { InferRequest } from '../request';
import type { Carry, TraceRecord } from '../types';

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
  readonly name: 'native';
  readonly isa: string;
  readonly threads: number;
  run(request: InferRequest): Promise<BackendResult>;
  runSync(request: InferRequest): BackendResult;
  dispose(): void;
}
