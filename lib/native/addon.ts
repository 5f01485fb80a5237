/**
 * The native addon's surface, typed by hand (the one place that knows its shape), and the
 * loader that finds the built binary and turns a load failure into one clear error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendError, InputError, ModelFormatError, OptionError, TrmError } from '../errors';
import type { FlatTrace } from '../trace';
import type { Precision } from '../types';

export interface NativeSpec {
  seqLen: number;
  vocabSize: number;
  hiddenSize: number;
  numHeads: number;
  hCycles: number;
  lCycles: number;
  lLayers: number;
  haltMaxSteps: number;
  posEncoding: 'rope' | 'learned' | 'none';
  mlpT: boolean;
  puzzleEmbNdim: number;
  puzzleEmbLen: number;
  numPuzzleIdentifiers: number;
  rmsNormEps: number;
  ropeTheta: number;
  mlpInter: number;
  mlpTInter: number;
}

export interface NativeRequest {
  batch: number;
  inputs: Int32Array;
  puzzleIdentifiers?: Int32Array;
  carryZH?: Float32Array;
  carryZL?: Float32Array;
  maxSteps: number;
  minSteps: number;
  haltThreshold: number | null;
  confidenceThreshold: number | null;
  stableSteps: number | null;
  hCycles: number;
  lCycles: number;
  trace: boolean;
  traceLogits: boolean;
  returnCarry: boolean;
}

/** The native trace arrives flat, step-major ([steps * batch]); see lib/trace.ts. */
export type NativeTrace = FlatTrace;

export interface NativeResult {
  predictions: Int32Array;
  logits: Float32Array;
  steps: Int32Array;
  qHalt: Float32Array;
  qContinue: Float32Array;
  /** [batch] core/act.h StopReason codes (lib/trace.ts stopReasonOfCode). */
  stoppedBy: Uint8Array;
  carryZH?: Float32Array;
  carryZL?: Float32Array;
  traceSteps: number;
  trace?: NativeTrace;
}

export interface NativeModelHandle {
  infer(request: NativeRequest): Promise<NativeResult>;
  inferSync(request: NativeRequest): NativeResult;
  dispose(): void;
  readonly isa: string;
  readonly threads: number;
  readonly precision: Precision;
  readonly bf16Compute: string | null;
  readonly int8Compute: string | null;
  readonly linearKernel: string;
  /** null where the amx table runs, else why not. */
  readonly amxStatus: string | null;
  /** Batches smaller than this run on the calling thread alone (native/core/forward.h). */
  readonly oneThreadBelowBatch: number;
}

/** A tensor of the core's table: its state_dict name, shape, and whether the ACT loss trains it. */
export interface NativeTensorInfo {
  name: string;
  shape: number[];
  trained: boolean;
}

export interface NativeStepRequest {
  batch: number;
  inputs: Int32Array;
  labels: Int32Array;
  puzzleIdentifiers?: Int32Array;
  carryZH?: Float32Array;
  carryZL?: Float32Array;
}

export interface NativeStepResult {
  loss: number;
  lmLoss: number;
  qHaltLoss: number;
  seqCorrect: Uint8Array;
  predictions: Int32Array;
  qHalt: Float32Array;
  qContinue: Float32Array;
  carryZH: Float32Array;
  carryZL: Float32Array;
  /** Distinct puzzle identifiers of the batch, ascending (empty without a puzzle embedding). */
  puzzleIds: Int32Array;
  /** [puzzleIds.length * puzzle_emb_ndim]: the puzzle embedding's gradient per identifier, summed over the batch. */
  puzzleGrad: Float32Array;
}

/**
 * One training ACT step and its backward on parameters the engine owns. parameter() and
 * gradient() return views of the engine's memory (the same object on every call), valid
 * even after dispose(); step() adds into the gradients, zeroGradients() clears them.
 */
export interface NativeGradientEngineHandle {
  tensors(): NativeTensorInfo[];
  parameter(name: string): Float32Array;
  gradient(name: string): Float32Array;
  zeroGradients(): void;
  step(request: NativeStepRequest): Promise<NativeStepResult>;
  stepSync(request: NativeStepRequest): NativeStepResult;
  dispose(): void;
  readonly isa: string;
  readonly threads: number;
  /** Bytes of activations kept for the backward, for the largest batch so far. */
  readonly tapeBytes: number;
}

/** A GEMM entry of native/cpu/kernel_list.inc. */
export interface LinearKernelInfo {
  name: string;
  table: string;
  dtype: 'f32' | 'bf16' | 'int8';
  mr: number;
  nr: number;
  lanes: number;
  label: string;
  /** Whether this CPU (and OS) runs it. */
  runs: boolean;
}

export type PeakKind = 'fp32' | 'bf16' | 'int8' | 'amx-bf16' | 'amx-int8';

export interface KernelProbe {
  isas(): string[];
  gemm(isa: string, m: number, n: number, k: number, a: Float32Array, w: Float32Array, c: Float32Array, accumulate: boolean): void;
  rmsnormRows(isa: string, x: Float32Array, rows: number, cols: number, eps: number): void;
  siluMul(isa: string, gateUp: Float32Array, rows: number, inter: number, out: Float32Array): void;
  add(isa: string, x: Float32Array, y: Float32Array): void;
  dot(isa: string, a: Float32Array, b: Float32Array): number;
  axpy(isa: string, alpha: number, x: Float32Array, y: Float32Array): void;
  softmaxRows(isa: string, x: Float32Array, rows: number, cols: number, scale: number): void;
  gemmBf16(isa: string, m: number, n: number, k: number, a: Float32Array, w: Float32Array, c: Float32Array, accumulate: boolean): void;
  bf16Compute(isa: string): string;
  int8Compute(isa: string): string;
  /** One kernel_list.inc GEMM by name (w in fp32: rounded or quantized and packed for it). */
  gemmLinear(kernel: string, m: number, n: number, k: number, a: Float32Array, w: Float32Array, c: Float32Array, accumulate: boolean): void;
  linearKernels(): LinearKernelInfo[];
  /** Seconds per call (median of reps) of one GEMM, weight packed once: for bench/ only. */
  timeLinear(kernel: string, m: number, n: number, k: number, reps: number): number;
  /** The weight side of the int8 scheme: q[n*k] and one scale per output row. */
  quantizeInt8(w: Float32Array, n: number, k: number, q: Int8Array, scales: Float32Array): void;
  /**
   * GFLOP/s (GOP/s for int8) of a peak loop on `threads` threads: FMA (fp32), vdpbf16ps (bf16),
   * vpdpbusd (int8), AMX tdpbf16ps / tdpbssd (amx-*); null where the CPU has none.
   */
  measurePeak(kind: PeakKind, threads: number, seconds: number): number | null;
}

/** What cudaAvailable() reports: whether the build has CUDA, usable GPUs (compute capability >= 8.0), why none. */
export interface NativeCudaStatus {
  built: boolean;
  devices: number;
  reason?: string;
  /** How this addon was built, e.g. "built with CUDA 13.0.88 for sm 80;90". */
  build?: string;
}

/** The CUDA model handle: the same infer surface as NativeModelHandle. */
export interface CudaModelHandle {
  infer(request: NativeRequest): Promise<NativeResult>;
  inferSync(request: NativeRequest): NativeResult;
  dispose(): void;
  readonly precision: 'fp32' | 'bf16';
  readonly deviceName: string;
}

export interface NativeAddon {
  NativeModel: new (spec: NativeSpec, weights: Record<string, Float32Array>, options: { threads?: number; isa?: string; precision?: Precision }) => NativeModelHandle;
  GradientEngine: new (spec: NativeSpec, weights: Record<string, Float32Array>, options: { threads?: number; isa?: string }) => NativeGradientEngineHandle;
  /** Absent from addons built before the CUDA backend existed. */
  CudaModel?: new (spec: NativeSpec, weights: Record<string, Float32Array>, options: { precision?: Precision; deviceIndex?: number }) => CudaModelHandle;
  cudaAvailable?: () => NativeCudaStatus;
  supportedIsas(): string[];
  defaultIsa(): string;
  /** The core's tensor table (native/core/tensor_table.h) for a spec: what every native backend loads. */
  tensorTable(spec: NativeSpec): NativeTensorInfo[];
  kernelProbe: KernelProbe;
}

/** Where the addon may be, first match wins: an explicit override, then the cmake-js build. */
function candidates(): string[] {
  const root = path.resolve(__dirname, '..', '..');
  const list = [path.join(root, 'build', 'Release', 'trm_node.node'), path.join(root, 'build', 'Debug', 'trm_node.node')];
  if (process.env.TRM_NATIVE_PATH) list.unshift(path.resolve(process.env.TRM_NATIVE_PATH));
  return list;
}

let cached: NativeAddon | undefined;
let cachedPath: string | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const failures: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      failures.push(`${file}: not found`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(file) as NativeAddon;
      cachedPath = file;
      return cached;
    } catch (e) {
      failures.push(`${file}: ${(e as Error).message}`);
    }
  }
  throw new BackendError(
    'the native addon could not be loaded; build it with `npm run build:native` (needs cmake and a C++17 compiler)\n  ' +
      failures.join('\n  '),
    { field: 'backend', value: 'native', expected: 'a built build/Release/trm_node.node' },
  );
}

/** The file the addon was loaded from (loading it if need be): what a worker_thread must require to share it. */
export function addonPath(): string {
  loadAddon();
  return cachedPath!;
}

/** Native errors carry a code; give them the library's typed errors. */
export function translateNativeError(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof TrmError) return e;
  const code = (e as Error & { code?: string }).code;
  switch (code) {
    case 'TRM_MODEL': return new ModelFormatError(e.message);
    case 'TRM_INPUT': return new InputError(e.message);
    case 'TRM_OPTION': return new OptionError(e.message);
    case 'TRM_DISPOSED': return new BackendError(e.message, { field: 'model', expected: 'a model that has not been disposed' });
    case 'TRM_BACKEND': return new BackendError(e.message, { field: 'device' });
    case 'TRM_ARGUMENT': case 'TRM_OUT_OF_MEMORY': case 'TRM_INTERNAL': return new BackendError(e.message);
    default: return e;
  }
}
