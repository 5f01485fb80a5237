/**
 * INT8 weight quantization, the one scheme every int8 path shares (the native operator
 * quantizes at load with the same rule, the ONNX int8 graph stores its output):
 *
 * - every Linear weight W[out][in] of the blocks and of lm_head, symmetric per output
 *   channel: maxabs = max_i |W[o][i]|, s_w[o] = maxabs / 127, and
 *   q = clamp(round_half_even(W[o][i] * (127 / maxabs)), -127, 127), all in float32; a row of
 *   zeros has s_w = 1 and q = 0. -128 is never used, so the range is symmetric.
 * - embeddings (token, puzzle, learned positions), H_init / L_init and q_head stay float32
 *   (q_head decides halting from one dot product; int8 there would move the halting step).
 *
 * A quantized file (`trm quantize`) stores each such weight `X.weight` as dtype I8 [out, in]
 * beside `X.weight_scale` F32 [out], and tags its safetensors metadata with
 * QUANTIZATION_KEY = QUANTIZATION_SCHEME.
 */
import { ModelFormatError } from '../errors';

export const QUANTIZATION_KEY = 'trm.quantization';
export const QUANTIZATION_SCHEME = 'int8-symmetric-per-channel';
/** The suffix of a quantized weight's scale tensor: `X.weight` -> `X.weight_scale`. */
export const SCALE_SUFFIX = '_scale';
export const INT8_MAX = 127;

export interface QuantizedMatrix {
  /** [rows, cols], row-major, each value in [-127, 127]. */
  q: Int8Array;
  /** [rows]: W[r][c] ~= q[r][c] * scale[r]. */
  scale: Float32Array;
}

const f32 = Math.fround;

/** Round half to even, the rounding of ONNX Round, `std::nearbyint` and `_mm512_cvtps_epi32`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; step back where that left an odd number from an exact tie.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** q = clamp(round_half_even(x * inv), -127, 127), with the product rounded to float32. */
export function quantizeValue(x: number, inv: number): number {
  const q = roundHalfEven(f32(x * inv));
  return q > INT8_MAX ? INT8_MAX : q < -INT8_MAX ? -INT8_MAX : q;
}

/** Quantizes W [rows, cols] per row (output channel) with the rule in the file comment. */
export function quantizeRows(w: Float32Array, rows: number, cols: number): QuantizedMatrix {
  if (w.length !== rows * cols) throw new RangeError(`quantizeRows: ${w.length} values for [${rows}, ${cols}]`);
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let maxAbs = 0;
    for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(w[off + c]));
    if (maxAbs === 0) {
      scale[r] = 1;
      continue;
    }
    scale[r] = f32(maxAbs / INT8_MAX);
    const inv = f32(INT8_MAX / maxAbs);
    for (let c = 0; c < cols; c++) q[off + c] = quantizeValue(w[off + c], inv);
  }
  return { q, scale };
}

/** W[r][c] = q[r][c] * scale[r] in float32 (a 7-bit integer times a float32: one rounding at most). */
export function dequantizeRows(q: Int8Array | Int32Array, scale: Float32Array, rows: number, cols: number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scale[r];
    for (let c = 0; c < cols; c++) w[r * cols + c] = q[r * cols + c] * s;
  }
  return w;
}

/**
 * Whether a canonical tensor name is one the int8 scheme quantizes: a Linear weight of a
 * block (qkv, o, mlp and mlp_t gate_up and down) or lm_head. q_head is not among them.
 */
export function isQuantizedLinear(name: string): boolean {
  return name === 'inner.lm_head.weight' || (name.startsWith('inner.L_level.layers.') && name.endsWith('_proj.weight'));
}

/**
 * The quantization a safetensors metadata block declares: null for none, the scheme for
 * ours, a ModelFormatError for any other value (a file we would misread).
 */
export function declaredQuantization(metadata: Record<string, string>, file?: string): typeof QUANTIZATION_SCHEME | null {
  const tag = metadata[QUANTIZATION_KEY];
  if (tag === undefined) return null;
  if (tag !== QUANTIZATION_SCHEME) {
    throw new ModelFormatError('unknown quantization scheme in the safetensors metadata', {
      file, field: `__metadata__.${QUANTIZATION_KEY}`, value: tag, expected: `"${QUANTIZATION_SCHEME}" (written by \`trm quantize\`) or no tag`,
    });
  }
  return tag;
}
