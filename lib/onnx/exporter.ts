/**
 * TRM -> ONNX, in TypeScript: standard-domain ops only, opset 17, weights as initializers.
 *
 * Graph `step` is one ACT step of the official eval forward
 * (`TinyRecursiveReasoningModel_ACTV1_Inner.forward`, trm.py) with every H/L cycle
 * unrolled; the caller carries z_H / z_L between steps (see `initialCarry`). Graph `run`
 * builds the initial carry inside and unrolls a fixed number of steps (the official eval,
 * which never halts early). `test/oracle/reference.ts` states the same semantics in plain
 * float64 code; the tests hold this graph to it and to the golden outputs.
 *
 * `precision: 'int8'` writes every block Linear and lm_head as int8 MatMulInteger with the
 * quantization in the graph (see `TrmGraph.linear`); q_head, norms, attention and the carry
 * stay float32. Still standard-domain ops, opset 17.
 *
 * The whole model is one protobuf message, which protobuf caps at 2 GiB, so weights over
 * 1.5 GiB are refused (ONNX external data is not written yet).
 */
import { createHash } from 'node:crypto';
import { onnx } from 'onnx-proto';
import { ModelFormatError, OptionError } from '../errors';
import { CONFIG_KEYS, TrmConfig, modelDimensions, ModelDimensions } from '../model/config';
import { WeightMap, expectedTensors } from '../model/weights';
import { INT8_MAX, quantizeRows } from '../model/quantize';
import { DataType, GraphBuilder, attr } from './builder';

export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;
/** Weights above this do not fit one protobuf message with room to spare. */
export const MAX_EMBEDDED_WEIGHT_BYTES = 1.5 * 1024 ** 3;

/** The exported graph's file name inside a model directory. */
export const ONNX_FILE = 'model.onnx';
/** The int8 graph's file name (`trm export-onnx --precision int8`), so both graphs can sit beside the weights. */
export const ONNX_INT8_FILE = 'model.int8.onnx';

/** Where `trm export-onnx` writes, and the onnx backend looks for, the graph of a precision. */
export function onnxFileName(precision: OnnxPrecision): string {
  return precision === 'int8' ? ONNX_INT8_FILE : ONNX_FILE;
}

/** The arithmetic of an exported graph's Linear layers. */
export type OnnxPrecision = 'fp32' | 'int8';
export const ONNX_PRECISIONS: readonly OnnxPrecision[] = ['fp32', 'int8'];

export interface ExportOptions {
  /** `'step'` (default): one ACT step from a given carry. `'run'`: `steps` ACT steps from the initial carry. */
  graph?: 'step' | 'run';
  /** ACT steps the `run` graph unrolls; default `halt_max_steps`. Not allowed with `'step'`. */
  steps?: number;
  /**
   * `'fp32'` (default), or `'int8'`: every block Linear and lm_head as MatMulInteger on int8
   * weights (per output channel, lib/model/quantize.ts) and int8 activations quantized per
   * row in the graph, int32 accumulation, rescaled by s_x * s_w. The rest stays float32.
   */
  precision?: OnnxPrecision;
}

/** The official arch keys that determine the computation (and so enter the fingerprint). */
export const OFFICIAL_CONFIG_KEYS = CONFIG_KEYS;

/** The official constant (trm.py), not Math.SQRT1_2. */
const LEARNED_POS_SCALE = 0.707106781;

/**
 * sha256 over the official config keys and every tensor's name, shape and float32 bytes,
 * tensors sorted by name: two exports with the same fingerprint compute the same function.
 */
export function weightsFingerprint(config: TrmConfig, weights: WeightMap): string {
  const hash = createHash('sha256');
  hash.update('trm-node weights v1\0');
  hash.update(JSON.stringify(OFFICIAL_CONFIG_KEYS.map((k) => [k, config[k] ?? null])));
  const shapes = new Map(expectedTensors(config).map((s) => [s.name, s.shape]));
  for (const name of Object.keys(weights).sort()) {
    const data = weights[name];
    hash.update(`\0${name}\0${JSON.stringify(shapes.get(name) ?? [data.length])}\0`);
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

function checkOptions(config: TrmConfig, options: ExportOptions): { graph: 'step' | 'run'; steps: number; precision: OnnxPrecision } {
  for (const key of Object.keys(options)) {
    if (key !== 'graph' && key !== 'steps' && key !== 'precision') {
      throw new OptionError('unknown export option', { field: key, value: (options as Record<string, unknown>)[key], expected: 'graph, steps or precision' });
    }
  }
  const precision = options.precision ?? 'fp32';
  if (!ONNX_PRECISIONS.includes(precision)) {
    throw new OptionError('unknown export precision', { field: 'precision', value: precision, expected: ONNX_PRECISIONS.map((p) => `"${p}"`).join(' or ') });
  }
  const graph = options.graph ?? 'step';
  if (graph !== 'step' && graph !== 'run') throw new OptionError('invalid export graph', { field: 'graph', value: graph, expected: '"step" or "run"' });
  if (graph === 'step' && options.steps !== undefined) {
    throw new OptionError('steps applies only to the run graph', { field: 'steps', value: options.steps, expected: 'undefined with graph "step"' });
  }
  const steps = options.steps ?? config.halt_max_steps;
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > 1024) {
    throw new OptionError('invalid number of ACT steps', { field: 'steps', value: steps, expected: 'an integer in [1, 1024]' });
  }
  return { graph, steps, precision };
}

function checkWeights(config: TrmConfig, weights: WeightMap): void {
  let bytes = 0;
  for (const spec of expectedTensors(config)) {
    const w = weights[spec.name];
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (!(w instanceof Float32Array) || w.length !== n) {
      throw new ModelFormatError('weight tensor missing or of the wrong size for the config', {
        field: spec.name, value: w === undefined ? undefined : w.length, expected: `a Float32Array of ${n} values, shape ${JSON.stringify(spec.shape)}`,
      });
    }
    bytes += w.byteLength;
  }
  if (bytes > MAX_EMBEDDED_WEIGHT_BYTES) {
    throw new ModelFormatError('weights too large for one ONNX file', {
      field: 'weights', value: bytes, expected: `at most ${MAX_EMBEDDED_WEIGHT_BYTES} bytes (ONNX external data is not supported yet)`,
    });
  }
}

/** W [rows, cols] (PyTorch's [out, in]) -> W^T [cols, rows], so x @ W^T is one MatMul. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/**
 * RoPE tables rounded as the official `RotaryEmbedding` builds them in float32: inv_freq,
 * the angles and cos/sin each rounded to float32. Shape [T, 1, headDim] so they broadcast
 * over [B, T, heads, headDim] as `cos.unsqueeze(-2)` does.
 */
function ropeTables(T: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const f = Math.fround;
  const half = headDim / 2;
  const cos = new Float32Array(T * headDim);
  const sin = new Float32Array(T * headDim);
  for (let j = 0; j < half; j++) {
    const invFreq = f(1 / f(theta ** f((2 * j) / headDim)));
    for (let t = 0; t < T; t++) {
      const angle = f(t * invFreq);
      cos[t * headDim + j] = cos[t * headDim + j + half] = Math.cos(angle);
      sin[t * headDim + j] = sin[t * headDim + j + half] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** A Linear's initializers: W^T in float32, or int8 W^T [in, out] with its per-output-channel scales [out]. */
type LinearNames = { wT: string } | { qT: string; scale: string };
interface SwiGluNames { gateUp: LinearNames; down: LinearNames; inter: number }
interface LayerNames { qkv?: LinearNames; o?: LinearNames; mlpT?: SwiGluNames; mlp: SwiGluNames }

/** Int8 [rows, cols] -> [cols, rows]. */
function transposeInt8(w: Int8Array, rows: number, cols: number): Int8Array {
  const out = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/** The TRM computation as ONNX nodes; weights become initializers once and are shared by every use. */
class TrmGraph {
  private readonly D: number;
  private readonly dims: ModelDimensions;
  private readonly layers: LayerNames[] = [];
  private readonly rope: { cos: string; sin: string } | null = null;
  private readonly eps: string;
  private zeroPoint: string | null = null;

  constructor(private readonly b: GraphBuilder, private readonly config: TrmConfig, private readonly weights: WeightMap, private readonly precision: OnnxPrecision) {
    this.D = config.hidden_size;
    this.dims = modelDimensions(config);
    const { totalLen: T, headDim, mlpInter, mlpTInter } = this.dims;
    this.eps = b.scalar(config.rms_norm_eps);
    const swiglu = (prefix: string, width: number, inter: number): SwiGluNames => ({
      gateUp: this.linearWeights(`${prefix}.gate_up_proj.weight`, 2 * inter, width),
      down: this.linearWeights(`${prefix}.down_proj.weight`, width, inter),
      inter,
    });
    for (let l = 0; l < config.L_layers; l++) {
      const p = `inner.L_level.layers.${l}`;
      const layer: LayerNames = { mlp: swiglu(`${p}.mlp`, this.D, mlpInter) };
      if (config.mlp_t) {
        layer.mlpT = swiglu(`${p}.mlp_t`, T, mlpTInter);
      } else {
        layer.qkv = this.linearWeights(`${p}.self_attn.qkv_proj.weight`, 3 * this.D, this.D);
        layer.o = this.linearWeights(`${p}.self_attn.o_proj.weight`, this.D, this.D);
      }
      this.layers.push(layer);
    }
    if (config.pos_encodings === 'rope' && !config.mlp_t) {
      const { cos, sin } = ropeTables(T, headDim, config.rope_theta);
      this.rope = { cos: b.initFloat('rope_cos', [T, 1, headDim], cos), sin: b.initFloat('rope_sin', [T, 1, headDim], sin) };
    }
  }

  /** The initializers of Linear `name` (W [out, in] as PyTorch stores it), in the graph's precision. */
  private linearWeights(name: string, out: number, inF: number): LinearNames {
    const w = this.weights[name];
    if (this.precision === 'fp32') return { wT: this.b.initFloat(`${name}_T`, [inF, out], transpose(w, out, inF)) };
    const { q, scale } = quantizeRows(w, out, inF);
    return { qT: this.b.initInt8(`${name}_int8_T`, [inF, out], transposeInt8(q, out, inF)), scale: this.b.initFloat(`${name}_scale`, [out], scale) };
  }

  /**
   * x @ W^T over the last axis. In int8: each row of x (the last axis, the one the product
   * sums over) is quantized symmetrically, inv = 127 / maxabs, q = clip(round(x * inv)), and
   * s_x = maxabs / 127; an all-zero row divides by 1 instead of 0, so its q is 0 and not NaN.
   * MatMulInteger sums the products in int32, and the result is float(acc) * (s_x * s_w),
   * the order the native int8 epilogue uses.
   */
  private linear(x: string, w: LinearNames): string {
    const b = this.b;
    if ('wT' in w) return b.op('MatMul', [x, w.wT], [], 'linear');
    const maxAbs = b.op('ReduceMax', [b.op('Abs', [x])], [attr.ints('axes', [-1]), attr.int('keepdims', 1)], 'row_maxabs');
    const divisor = b.op('Where', [b.op('Equal', [maxAbs, b.scalar(0)], [], 'row_is_zero'), b.scalar(1), maxAbs], [], 'row_divisor');
    const inv = b.op('Div', [b.scalar(INT8_MAX), divisor], [], 'row_inv');
    const clipped = b.op('Clip', [b.op('Round', [b.op('Mul', [x, inv], [], 'x_scaled')]), b.scalar(-INT8_MAX), b.scalar(INT8_MAX)], [], 'x_clipped');
    const sx = b.op('Div', [maxAbs, b.scalar(INT8_MAX)], [], 'row_scale');
    // uint8 activations with zero point 128 (q + 128, exact in float32), not int8: MatMulInteger
    // computes (a - 128) * b, the same integers, but onnxruntime's CPU provider runs uint8 x
    // int8 on its VNNI / AVX2 kernels and int8 x int8 on a generic loop, 11x slower (1212 vs
    // 105 ms for one Sudoku-size ACT step, Xeon model 207, 1 thread).
    const qU8 = b.op('Cast', [b.op('Add', [clipped, b.scalar(128)], [], 'x_offset')], [attr.int('to', DataType.UINT8)], 'x_uint8');
    const acc = b.op('MatMulInteger', [qU8, w.qT, this.activationZeroPoint()], [], 'acc_int32');
    return b.op('Mul', [b.op('Cast', [acc], [attr.int('to', DataType.FLOAT)], 'acc'), b.op('Mul', [sx, w.scale], [], 'out_scale')], [], 'linear');
  }

  private activationZeroPoint(): string {
    this.zeroPoint ??= this.b.initUint8('x_zero_point', [], new Uint8Array([128]));
    return this.zeroPoint;
  }

  /** Weightless RMSNorm over the last axis: x / sqrt(mean(x^2) + eps). */
  private rmsNorm(x: string): string {
    const b = this.b;
    const meanSq = b.op('ReduceMean', [b.op('Mul', [x, x])], [attr.ints('axes', [-1]), attr.int('keepdims', 1)], 'mean_sq');
    return b.op('Div', [x, b.op('Sqrt', [b.op('Add', [meanSq, this.eps])])], [], 'rms');
  }

  /** down(silu(gate) * up) over the last axis; gate and up are the halves of gate_up_proj. */
  private swiglu(x: string, w: SwiGluNames): string {
    const b = this.b;
    const gateUp = this.linear(x, w.gateUp);
    const [gate, up] = b.opN('Split', [gateUp, b.ints('split', [w.inter, w.inter])], 2, [attr.int('axis', -1)], 'gate_up_half');
    const silu = b.op('Mul', [gate, b.op('Sigmoid', [gate])], [], 'silu');
    return this.linear(b.op('Mul', [silu, up]), w.down);
  }

  /** x * cos + rotate_half(x) * sin on [B, T, heads, headDim]; rotate_half(x) = cat(-x2, x1). */
  private applyRope(x: string): string {
    const b = this.b;
    const half = this.dims.headDim / 2;
    const [x1, x2] = b.opN('Split', [x, b.ints('split', [half, half])], 2, [attr.int('axis', -1)], 'rope_half');
    const rotated = b.op('Concat', [b.op('Neg', [x2]), x1], [attr.int('axis', -1)], 'rotate_half');
    return b.op('Add', [b.op('Mul', [x, this.rope!.cos]), b.op('Mul', [rotated, this.rope!.sin])], [], 'rope');
  }

  /** Non-causal multi-head attention, qkv_proj's output split [q heads | k heads | v heads]. */
  private attention(h: string, layer: LayerNames): string {
    const b = this.b;
    const H = this.config.num_heads;
    const hd = this.dims.headDim;
    const qkv = this.linear(h, layer.qkv!);
    const qkv4 = b.op('Reshape', [qkv, b.ints('shape', [0, 0, 3 * H, hd])], [], 'qkv_heads');
    let [q, k, v] = b.opN('Split', [qkv4, b.ints('split', [H, H, H])], 3, [attr.int('axis', 2)], 'qkv_split');
    if (this.rope) {
      q = this.applyRope(q);
      k = this.applyRope(k);
    }
    const qT = b.op('Transpose', [q], [attr.ints('perm', [0, 2, 1, 3])], 'q'); // [B, H, T, hd]
    const kT = b.op('Transpose', [k], [attr.ints('perm', [0, 2, 3, 1])], 'k_t'); // [B, H, hd, T]
    const vT = b.op('Transpose', [v], [attr.ints('perm', [0, 2, 1, 3])], 'v'); // [B, H, T, hd]
    const scores = b.op('Mul', [b.op('MatMul', [qT, kT], [], 'qk'), b.scalar(1 / Math.sqrt(hd))], [], 'scores');
    const probs = b.op('Softmax', [scores], [attr.int('axis', -1)], 'probs');
    const ctx = b.op('Transpose', [b.op('MatMul', [probs, vT], [], 'ctx')], [attr.ints('perm', [0, 2, 1, 3])], 'ctx_t');
    const merged = b.op('Reshape', [ctx, b.ints('shape', [0, 0, this.D])], [], 'ctx_merged');
    return this.linear(merged, layer.o!);
  }

  /** Post-norm block: h = rms(h + mix(h)); h = rms(h + mlp(h)). */
  private block(h: string, layer: LayerNames): string {
    const b = this.b;
    let x: string;
    if (layer.mlpT) {
      // Token mixing: SwiGLU over the token axis of [B, D, T], and the norm over T as well.
      const hT = b.op('Transpose', [h], [attr.ints('perm', [0, 2, 1])], 'h_t');
      const mixed = this.rmsNorm(b.op('Add', [hT, this.swiglu(hT, layer.mlpT)], [], 'res'));
      x = b.op('Transpose', [mixed], [attr.ints('perm', [0, 2, 1])], 'h');
    } else {
      x = this.rmsNorm(b.op('Add', [h, this.attention(h, layer)], [], 'res'));
    }
    return this.rmsNorm(b.op('Add', [x, this.swiglu(x, layer.mlp)], [], 'res'));
  }

  /** Official `ReasoningModule`: the injection is added once, before the first layer. */
  private lLevel(h: string, injection: string): string {
    let x = this.b.op('Add', [h, injection], [], 'injected');
    for (const layer of this.layers) x = this.block(x, layer);
    return x;
  }

  /** Official `_input_embeddings`: [B, T, D] from int32 tokens [B, seq_len] and ids [B]. */
  embeddings(inputs: string, puzzleIds: string): string {
    const b = this.b;
    const { config, weights, D } = this;
    const { puzzleEmbLen: P, totalLen: T } = this.dims;
    const tokenTable = b.initFloat('inner.embed_tokens.embedding_weight', [config.vocab_size, D], weights['inner.embed_tokens.embedding_weight']);
    let emb = b.op('Gather', [tokenTable, inputs], [attr.int('axis', 0)], 'token_emb');
    if (config.puzzle_emb_ndim > 0) {
      const ndim = config.puzzle_emb_ndim;
      const table = b.initFloat('inner.puzzle_emb.weights', [config.num_puzzle_identifiers, ndim], weights['inner.puzzle_emb.weights']);
      let prefix = b.op('Gather', [table, puzzleIds], [attr.int('axis', 0)], 'puzzle_emb');
      // The zero padding happens on the gathered rows, so the table stays as stored.
      const pad = P * D - ndim;
      if (pad > 0) prefix = b.op('Pad', [prefix, b.ints('pads', [0, 0, 0, pad])], [], 'puzzle_emb_padded');
      prefix = b.op('Reshape', [prefix, b.ints('shape', [-1, P, D])], [], 'puzzle_prefix');
      emb = b.op('Concat', [prefix, emb], [attr.int('axis', 1)], 'emb');
    }
    if (config.pos_encodings === 'learned') {
      const pos = b.initFloat('inner.embed_pos.embedding_weight', [T, D], weights['inner.embed_pos.embedding_weight']);
      emb = b.op('Mul', [b.op('Add', [emb, pos], [], 'emb_pos'), b.scalar(LEARNED_POS_SCALE)], [], 'emb_pos_scaled');
    }
    return b.op('Mul', [emb, b.scalar(Math.sqrt(D))], [], 'x');
  }

  /** H_cycles x [L_cycles x z_L = L(z_L, z_H + x); z_H = L(z_H, z_L)]. */
  recursion(x: string, zH: string, zL: string): { zH: string; zL: string } {
    for (let hc = 0; hc < this.config.H_cycles; hc++) {
      for (let lc = 0; lc < this.config.L_cycles; lc++) {
        zL = this.lLevel(zL, this.b.op('Add', [zH, x], [], 'injection'));
      }
      zH = this.lLevel(zH, zL);
    }
    return { zH, zL };
  }

  private headWeights: { lm: LinearNames; qW: string; qB: string; zero: string; one: string } | null = null;

  /** lm_head on z_H without the prefix, q_head on z_H[:, 0]: logits [B, S, V], q_halt and q_continue [B]. */
  heads(zH: string): { logits: string; qHalt: string; qContinue: string } {
    const b = this.b;
    const { config, weights, D } = this;
    const { puzzleEmbLen: P, totalLen: T } = this.dims;
    if (this.headWeights === null) {
      this.headWeights = {
        lm: this.linearWeights('inner.lm_head.weight', config.vocab_size, D),
        qW: b.initFloat('inner.q_head.weight', [2, D], weights['inner.q_head.weight']),
        qB: b.initFloat('inner.q_head.bias', [2], weights['inner.q_head.bias']),
        zero: b.initInt64('index0', [], [0]),
        one: b.initInt64('index1', [], [1]),
      };
    }
    const w = this.headWeights;
    const tokens = P > 0 ? b.op('Slice', [zH, b.ints('starts', [P]), b.ints('ends', [T]), b.ints('axes', [1])], [], 'z_H_tokens') : zH;
    const logits = this.linear(tokens, w.lm);
    const first = b.op('Gather', [zH, w.zero], [attr.int('axis', 1)], 'z_H_first');
    const q = b.op('Gemm', [first, w.qW, w.qB], [attr.int('transB', 1)], 'q');
    return {
      logits,
      qHalt: b.op('Gather', [q, w.zero], [attr.int('axis', 1)], 'q_halt'),
      qContinue: b.op('Gather', [q, w.one], [attr.int('axis', 1)], 'q_continue'),
    };
  }

  /** H_init / L_init broadcast to [B, T, D], B taken from the inputs. */
  initialCarry(inputs: string): { zH: string; zL: string } {
    const b = this.b;
    const { D, weights } = this;
    const batch = b.op('Slice', [b.op('Shape', [inputs], [], 'inputs_shape'), b.ints('starts', [0]), b.ints('ends', [1])], [], 'batch');
    const shape = b.op('Concat', [batch, b.ints('carry_dims', [this.dims.totalLen, D])], [attr.int('axis', 0)], 'carry_shape');
    const hInit = b.initFloat('inner.H_init', [D], weights['inner.H_init']);
    const lInit = b.initFloat('inner.L_init', [D], weights['inner.L_init']);
    return { zH: b.op('Expand', [hInit, shape], [], 'z_H_init'), zL: b.op('Expand', [lInit, shape], [], 'z_L_init') };
  }
}

/** Serializes the TRM as an ONNX ModelProto (see the file comment for the two graphs). */
export function exportOnnx(config: TrmConfig, weights: WeightMap, options: ExportOptions = {}): Uint8Array {
  const { graph, steps, precision } = checkOptions(config, options);
  checkWeights(config, weights);
  const { totalLen: T } = modelDimensions(config);
  const D = config.hidden_size;
  const S = config.seq_len;
  const V = config.vocab_size;

  const b = new GraphBuilder();
  const inputs = b.input('inputs', DataType.INT32, ['batch', S]);
  const ids = b.input('puzzle_identifiers', DataType.INT32, ['batch']);
  const trm = new TrmGraph(b, config, weights, precision);
  let zH: string;
  let zL: string;
  if (graph === 'step') {
    zH = b.input('z_H', DataType.FLOAT, ['batch', T, D]);
    zL = b.input('z_L', DataType.FLOAT, ['batch', T, D]);
  } else {
    ({ zH, zL } = trm.initialCarry(inputs));
  }
  const x = trm.embeddings(inputs, ids);
  const stepCount = graph === 'step' ? 1 : steps;
  for (let s = 0; s < stepCount; s++) ({ zH, zL } = trm.recursion(x, zH, zL));
  // Only the last step's heads are outputs; the official eval never halts early, so the
  // earlier steps' heads would not change the carry.
  const heads = trm.heads(zH);

  const zHOut = graph === 'step' ? 'z_H_next' : 'z_H';
  const zLOut = graph === 'step' ? 'z_L_next' : 'z_L';
  b.opNamed(zHOut, 'Identity', [zH]);
  b.opNamed(zLOut, 'Identity', [zL]);
  b.opNamed('logits', 'Identity', [heads.logits]);
  b.opNamed('q_halt', 'Identity', [heads.qHalt]);
  b.opNamed('q_continue', 'Identity', [heads.qContinue]);
  const outs: [string, (number | string)[]][] = [
    [zHOut, ['batch', T, D]], [zLOut, ['batch', T, D]], ['logits', ['batch', S, V]], ['q_halt', ['batch']], ['q_continue', ['batch']],
  ];
  for (const [name, dims] of outs) b.output(name, DataType.FLOAT, dims);

  const metadata: Record<string, string> = {
    'trm.fingerprint': weightsFingerprint(config, weights),
    'trm.graph': graph,
    'trm.precision': precision,
    'trm.config': JSON.stringify(config),
  };
  if (graph === 'run') metadata['trm.steps'] = String(steps);

  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'trm-node',
    docString: (graph === 'step'
      ? 'One ACT step of a Tiny Recursive Model (official eval forward), all H/L cycles unrolled.'
      : `${steps} ACT steps of a Tiny Recursive Model from the initial carry (official eval forward).`)
      + (precision === 'int8' ? ' Linear layers in int8 (MatMulInteger, per-channel weights, per-row activations).' : ''),
    graph: b.graph(`trm_${graph}`),
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
