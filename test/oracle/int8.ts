/**
 * The int8 arithmetic of `precision: 'int8'` for the oracle (reference.ts), written out
 * again from the rule (README, INT8) and sharing no code with lib/model/quantize.ts, the
 * ONNX exporter or the native kernels: weights per output channel, activations per row,
 * quantization steps in float32, integer sums exact.
 */
const f32 = Math.fround;

/** Round half to even, by the definition: the nearest integer, ties to the even one. */
function roundTiesToEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * One row quantized symmetrically in float32: maxabs, inv = 127 / maxabs, q = clamp(round(x * inv)),
 * scale = maxabs / 127. A zero row gives q = 0 and scale `zeroScale` (1 for weights, 0 for activations).
 */
function quantizeRow(row: ArrayLike<number>, q: Int32Array, qOff: number, zeroScale: number): number {
  let maxAbs = 0;
  for (let i = 0; i < row.length; i++) maxAbs = Math.max(maxAbs, Math.abs(f32(row[i])));
  if (maxAbs === 0) {
    for (let i = 0; i < row.length; i++) q[qOff + i] = 0;
    return zeroScale;
  }
  const inv = f32(127 / maxAbs);
  for (let i = 0; i < row.length; i++) q[qOff + i] = Math.max(-127, Math.min(127, roundTiesToEven(f32(f32(row[i]) * inv))));
  return f32(maxAbs / 127);
}

/** W [rows, cols] per output channel: int8 values (as Int32Array) and one float32 scale per row. */
export function referenceQuantizeWeight(w: ArrayLike<number>, rows: number, cols: number): { q: Int32Array; scale: Float64Array } {
  const q = new Int32Array(rows * cols);
  const scale = new Float64Array(rows);
  const row = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) row[c] = w[r * cols + c];
    scale[r] = quantizeRow(row, q, r * cols, 1);
  }
  return { q, scale };
}

const quantizedWeights = new WeakMap<Float64Array, { q: Int32Array; scale: Float64Array }>();

/**
 * The int8 Linear: W quantized per output channel, each row of x (rounded to float32, as a
 * float32 runtime holds it) per row, the integer products summed exactly (float64 holds
 * any sum of 127 * 127 * in < 2^53 exactly), then y = float32(acc) * float32(s_x * s_w).
 */
export function int8Linear(x: Float64Array, rows: number, inF: number, W: Float64Array, outF: number): Float64Array {
  let wq = quantizedWeights.get(W);
  if (wq === undefined) {
    wq = referenceQuantizeWeight(W, outF, inF);
    quantizedWeights.set(W, wq);
  }
  const out = new Float64Array(rows * outF);
  const xq = new Int32Array(inF);
  for (let r = 0; r < rows; r++) {
    const sx = quantizeRow(x.subarray(r * inF, (r + 1) * inF), xq, 0, 0);
    for (let o = 0; o < outF; o++) {
      let acc = 0;
      for (let i = 0; i < inF; i++) acc += xq[i] * wq.q[o * inF + i];
      out[r * outF + o] = f32(f32(acc) * f32(sx * wq.scale[o]));
    }
  }
  return out;
}
