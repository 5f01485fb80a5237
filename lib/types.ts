/** The public types of the inference API: the contract every backend implements. */
import type { TrmConfig, ModelDimensions } from './model/config';

export type BackendName = 'native' | 'onnx';
/** Where the native operator runs: 'cpu' (default) or 'cuda' (an NVIDIA GPU; build with TRM_CUDA=ON). */
export type Device = 'cpu' | 'cuda';
export type IsaName = 'auto' | 'scalar' | 'avx2' | 'avx512';

export interface LoadOptions {
  /**
   * Which implementation runs the model. Default 'native' (the fused C++ operator); 'onnx'
   * runs the exported step graph on onnxruntime-node (CPU) with the TypeScript ACT loop.
   */
  backend?: BackendName;
  /** Worker threads for one inference (the calling thread counts). Default: all cores. */
  threads?: number;
  /** Kernel instruction set of the native backend; default 'auto' (the best this CPU runs), or the TRM_ISA variable. */
  isa?: IsaName;
  /**
   * Arithmetic of the Linear layers (native backend): 'fp32' (default) or 'bf16' (weights
   * stored in bf16, activations rounded to bf16 at each matrix product, fp32 accumulation;
   * about twice as fast on CPUs with AVX512_BF16, and computed exactly alike, only slower,
   * elsewhere). Norms, softmax, residuals and the carry stay fp32.
   */
  precision?: Precision;
  /**
   * 'cpu' (default) or 'cuda': the same fused operator on an NVIDIA GPU (compute capability
   * 8.0+), fp32 or bf16 (tensor cores), same results and trace. Needs a build with CUDA
   * (`TRM_CUDA=ON npm run build:native`); see cudaAvailable(). Not with backend 'onnx', isa
   * or threads. UNVERIFIED ON HARDWARE: not yet run on any GPU.
   */
  device?: Device;
  /**
   * The most samples one `infer` call may carry; a larger call is refused with a LimitError
   * before any work. Default: no cap but memory. For services, where one call of 200,000
   * Sudoku-9x9 samples would hold the model for minutes.
   */
  maxBatch?: number;
  /**
   * The most ACT steps one call may ask for (`maxSteps`); a larger call is refused with a
   * LimitError. Default 1,000,000 (the hard cap); at least the model's halt_max_steps.
   */
  maxStepsLimit?: number;
}

/** The per-call caps of a loaded model (LoadOptions maxBatch and maxStepsLimit, resolved). */
export interface ModelLimits {
  /** Samples per call; Infinity when uncapped. */
  maxBatch: number;
  /** ACT steps per call. */
  maxStepsLimit: number;
}

export type Precision = 'fp32' | 'bf16';

export interface Carry {
  /** [batch, seq_len + puzzle prefix, hidden] */
  zH: Float32Array;
  zL: Float32Array;
}

export interface InferInput {
  /** Token ids: flat [batch * seq_len], or one array of seq_len tokens per sample. */
  inputs: Int32Array | ArrayLike<number>[];
  /** One puzzle identifier per sample; default 0 for every sample. */
  puzzleIdentifiers?: Int32Array | ArrayLike<number>;
  /** Resume from a carry returned by an earlier call (returnCarry). Default: H_init / L_init. */
  carry?: Carry;
}

export interface InferOptions {
  /** ACT steps at most; default halt_max_steps. May exceed it ("thinking longer"). */
  maxSteps?: number;
  /** ACT steps at least before adaptive halting may stop a sample; default 1. */
  minSteps?: number;
  /**
   * Halt a sample once sigmoid(q_halt) > haltThreshold (checked after each step, from
   * minSteps on). null (the default) runs every sample maxSteps steps, as the official eval.
   */
  haltThreshold?: number | null;
  /** Record every step; 'logits' adds each step's logits. Default false. */
  trace?: boolean | 'logits';
  /** Return the final carry, to resume later. Default false. */
  returnCarry?: boolean;
}

export interface TraceRecord {
  /** 1-based ACT step. */
  step: number;
  qHalt: Float32Array;
  qContinue: Float32Array;
  haltProbability: Float32Array;
  /** 1 where the sample has halted at this step or before (its entries then repeat its final step). */
  halted: Uint8Array;
  /** Tokens whose prediction changed since the previous step (step 1: since the input tokens). */
  changed: Int32Array;
  /** Mean over positions of the largest softmax probability. */
  confidence: Float32Array;
  /** [batch * seq_len * vocab] with trace: 'logits'. */
  logits?: Float32Array;
}

export interface InferResult {
  batch: number;
  seqLen: number;
  vocabSize: number;
  /** [batch * seq_len] argmax at each sample's final step. */
  predictions: Int32Array;
  /** [batch * seq_len * vocab] at each sample's final step. */
  logits: Float32Array;
  /** [batch] ACT steps each sample ran. */
  steps: Int32Array;
  /** [batch] q_halt logit at each sample's final step. */
  qHalt: Float32Array;
  qContinue: Float32Array;
  /** [batch] sigmoid(qHalt). */
  haltProbability: Float32Array;
  trace?: TraceRecord[];
  carry?: Carry;
}

export interface ModelInfo {
  backend: BackendName;
  device: Device;
  isa: string;
  threads: number;
  precision: Precision;
  /** How bf16 products are computed on this CPU ('vdpbf16ps' or 'fp32 fma'); null for fp32 models. */
  bf16Compute: string | null;
}

export type { TrmConfig, ModelDimensions };
