/** The public types of the inference API: the contract every backend implements. */
import type { TrmConfig, ModelDimensions } from './model/config';

/** The built-in backends, or any name given to registerBackend. */
export type BackendName = 'native' | 'onnx' | (string & {});
/** Where the native operator runs: 'cpu' (default) or 'cuda' (an NVIDIA GPU; build with TRM_CUDA=ON). */
export type Device = 'cpu' | 'cuda';
/** 'auto' or a TRM_ISA of native/cpu/kernel_list.inc (test/native/kernel-list.test.ts checks the two agree). */
export type IsaName = 'auto' | 'amx' | 'avx512' | 'avx2' | 'scalar';

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
   * Arithmetic of the Linear layers: 'fp32' (default); 'bf16' (native backend: weights
   * stored in bf16, activations rounded to bf16 at each matrix product, fp32 accumulation;
   * on AMX tiles, vdpbf16ps where it runs at full rate, or fp32 FMAs on bf16 values, the
   * same products: see info.bf16Compute); or 'int8' (native CPU and onnx backends: weights
   * symmetric int8 per output channel, activations int8 per row before each product, int32
   * accumulation; lib/model/quantize.ts; see info.int8Compute). Embeddings, norms, softmax,
   * residuals, the carry and q_head stay fp32. A quantized directory (`trm quantize`)
   * defaults to 'int8' when no precision is given.
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
   * Keep an fp32 copy of the weights for computeGradients and GradientEngine.fromModel
   * (default false: the backend's own copy is the only one, so a loaded model costs its
   * weights once).
   */
  gradients?: boolean;
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

/** Every precision, in one place: the option checks and the CLI read this list. */
export const PRECISIONS = ['fp32', 'bf16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

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

/**
 * Why a sample stopped (lib/halting.ts): 'halt' (sigmoid(q_halt) > haltThreshold),
 * 'confidence' (confidence >= confidenceThreshold), 'stable' (predictions unchanged for
 * stableSteps steps), 'maxSteps'. When several fire at one step, the first in that order.
 */
export type StopReason = 'halt' | 'confidence' | 'stable' | 'maxSteps';

export interface InferOptions {
  /** ACT steps at most; default halt_max_steps. May exceed it ("thinking longer"). */
  maxSteps?: number;
  /** ACT steps at least before any adaptive rule may stop a sample; default 1. */
  minSteps?: number;
  /**
   * Stop a sample once sigmoid(q_halt) > haltThreshold (checked after each step, from
   * minSteps on). null (the default), with the other rules null too, runs every sample
   * maxSteps steps, as the official eval.
   */
  haltThreshold?: number | null;
  /**
   * Stop a sample once the step's confidence (TraceRecord.confidence: the mean over positions
   * of the largest softmax probability, as float32) >= confidenceThreshold, from minSteps
   * on. In [0, 1]; null (default) off.
   */
  confidenceThreshold?: number | null;
  /**
   * Stop a sample once its predictions have not changed for stableSteps consecutive steps
   * (TraceRecord.changed 0 at each; step 1 compares against the input tokens, so with an
   * input that is not already the answer, k can first fire at step k + 1), from minSteps on.
   * An integer >= 1; null (default) off.
   */
  stableSteps?: number | null;
  /**
   * Recursion depth of every ACT step: H_cycles and L_cycles for this call instead of the
   * config's. This runs the model off its training setting (it was trained at the config's
   * depth); answers may be better, worse or just slower. Integers in [1, 256] (MAX_CYCLES); the
   * onnx backend runs only the depth its graph was exported with.
   */
  hCycles?: number;
  lCycles?: number;
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
  /** The rule that stopped each sample, from the step it stopped on (null while it runs). */
  stoppedBy: (StopReason | null)[];
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
  /** [batch] the rule that stopped each sample (precedence halt > confidence > stable > maxSteps). */
  stoppedBy: StopReason[];
  trace?: TraceRecord[];
  carry?: Carry;
}

export interface ModelInfo {
  backend: BackendName;
  device: Device;
  isa: string;
  threads: number;
  precision: Precision;
  /** How bf16 products are computed here ('amx-bf16', 'vdpbf16ps', 'fp32 fma on bf16 values', ...); null unless bf16. */
  bf16Compute: string | null;
  /** Which int8 GEMM runs ('amx-int8', 'vpdpbusd', 'avx-vnni', 'avx2', 'scalar'); null unless int8. */
  int8Compute: string | null;
  /** The native CPU GEMM microkernel of every Linear layer (native/cpu/kernel_list.inc); null on other backends. */
  linearKernel: string | null;
  /** Why the AMX kernels do not run here (CPUID, the OS, the build); null where they do, or off the native CPU backend. */
  amxUnavailable: string | null;
  /**
   * Native CPU: batches smaller than this run every step on the calling thread alone, their
   * layers being too small to gain from splitting (under 0.5 MFLOP for each parallel region
   * of a layer, as in batch 1 of a hidden-64 attention model over 16 positions); 1 when every
   * batch is split over the threads. null off the native CPU backend.
   */
  oneThreadBelowBatch: number | null;
}

export type { TrmConfig, ModelDimensions };
