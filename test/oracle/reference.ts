/**
 * An independent float64 oracle of one official TRM ACT step, in plain TypeScript.
 *
 * It computes exactly what `TinyRecursiveReasoningModel_ACTV1_Inner.forward` computes in
 * eval mode (SamsungSAILMontreal/TinyRecursiveModels, `models/recursive_reasoning/trm.py`
 * and `models/layers.py`), but in float64 and with no code shared with the native kernel,
 * the ONNX exporter or any other backend. It is meant to be read next to the official
 * Python: slow, one operation per function, every tensor a flat row-major Float64Array.
 *
 * Weights are looked up by canonical state_dict name (checkpoint prefix stripped), e.g.
 * `inner.lm_head.weight`. Each is widened to float64 before use, so BF16/F32 checkpoints
 * enter the oracle exactly as stored.
 */
import { modelDimensions, type TrmConfig } from '../../lib/model/config';
import { int8Linear } from './int8';

export type OracleWeights = Record<string, Float32Array | Float64Array>;

export interface OracleBatch {
  /** Token ids, [B, seq_len]. */
  inputs: Int32Array;
  /** Puzzle identifier per sample, [B]. */
  puzzleIdentifiers: Int32Array;
  /** Carry entering the step, [B, totalLen, hidden] each. */
  zH: Float64Array;
  zL: Float64Array;
}

export interface OracleStepResult {
  /** Carry leaving the step, [B, totalLen, hidden] each. */
  zH: Float64Array;
  zL: Float64Array;
  /** [B, seq_len, vocab]: the puzzle prefix positions are dropped, as the official code does. */
  logits: Float64Array;
  /** [B] each. */
  qHalt: Float64Array;
  qContinue: Float64Array;
}

/** The official constant, not Math.SQRT1_2: the golden data was made with this literal. */
const LEARNED_POS_SCALE = 0.707106781;

// ---------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------

function getWeight(weights: OracleWeights, name: string, expectedLength: number): Float64Array {
  const w = weights[name];
  if (w === undefined) {
    throw new Error(`oracle: missing weight ${name} (canonical state_dict name, prefix stripped); have: ${Object.keys(weights).join(', ')}`);
  }
  if (w.length !== expectedLength) {
    throw new Error(`oracle: weight ${name} has ${w.length} elements, expected ${expectedLength}`);
  }
  return Float64Array.from(w);
}

interface SwiGluWeights {
  /** [2 * inter, width]: rows [0, inter) give `gate`, rows [inter, 2 * inter) give `up` (`chunk(2, dim=-1)`). */
  gateUp: Float64Array;
  /** [width, inter]. */
  down: Float64Array;
  width: number;
  inter: number;
}

interface BlockWeights {
  /** [(heads + 2 * kvHeads) * headDim, hidden]; absent with mlp_t. */
  qkv?: Float64Array;
  /** [hidden, heads * headDim]; absent with mlp_t. */
  o?: Float64Array;
  /** Token-axis SwiGLU; present only with mlp_t. */
  mlpT?: SwiGluWeights;
  mlp: SwiGluWeights;
}

interface OracleModel {
  config: TrmConfig;
  /** The int8 arithmetic (see `int8Linear`) in every block Linear and lm_head; q_head stays float. */
  int8: boolean;
  B: number;
  T: number;
  D: number;
  heads: number;
  headDim: number;
  puzzleEmbLen: number;
  blocks: BlockWeights[];
  /** [T, headDim] each, or null when pos_encodings is not rope. */
  cos: Float64Array | null;
  sin: Float64Array | null;
}

function swigluWeights(weights: OracleWeights, prefix: string, width: number, inter: number): SwiGluWeights {
  return {
    gateUp: getWeight(weights, `${prefix}.gate_up_proj.weight`, 2 * inter * width),
    down: getWeight(weights, `${prefix}.down_proj.weight`, width * inter),
    width,
    inter,
  };
}

function loadBlocks(config: TrmConfig, weights: OracleWeights): BlockWeights[] {
  const dims = modelDimensions(config);
  const D = config.hidden_size;
  // The official model builds Attention with num_key_value_heads = num_heads.
  const qkvRows = (config.num_heads + 2 * config.num_heads) * dims.headDim;
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < config.L_layers; l++) {
    const p = `inner.L_level.layers.${l}`;
    const block: BlockWeights = { mlp: swigluWeights(weights, `${p}.mlp`, D, dims.mlpInter) };
    if (config.mlp_t) {
      block.mlpT = swigluWeights(weights, `${p}.mlp_t`, dims.totalLen, dims.mlpTInter);
    } else {
      block.qkv = getWeight(weights, `${p}.self_attn.qkv_proj.weight`, qkvRows * D);
      block.o = getWeight(weights, `${p}.self_attn.o_proj.weight`, D * config.num_heads * dims.headDim);
    }
    blocks.push(block);
  }
  return blocks;
}

/**
 * RoPE tables as `RotaryEmbedding` builds them: inv_freq = 1 / theta^(arange(0, dim, 2) / dim),
 * freqs = outer(t, inv_freq), emb = cat(freqs, freqs) so entries j and j + dim/2 share an
 * angle (the rotate_half convention, not interleaved pairs). The official tables are float32;
 * here they are float64, which moves nothing by more than ~1e-7.
 */
function ropeTables(T: number, headDim: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const cos = new Float64Array(T * headDim);
  const sin = new Float64Array(T * headDim);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < half; j++) {
      const invFreq = 1 / theta ** ((2 * j) / headDim);
      const angle = t * invFreq;
      cos[t * headDim + j] = cos[t * headDim + j + half] = Math.cos(angle);
      sin[t * headDim + j] = sin[t * headDim + j + half] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

// ---------------------------------------------------------------------------------------
// Primitive operations on row-major float64 tensors
// ---------------------------------------------------------------------------------------

/** `F.linear`: out[r, o] = sum_i x[r, i] * W[o, i] (+ bias[o]); W is [outF, inF] as PyTorch stores it. */
function linear(x: Float64Array, rows: number, inF: number, W: Float64Array, outF: number, bias?: Float64Array): Float64Array {
  const out = new Float64Array(rows * outF);
  // Each output is still one plain in-order sum over i; the loops only visit two rows and
  // four outputs together so that every x and W element loaded is used several times, which
  // makes this ~2x faster in V8 and keeps the mlp_t golden at a few seconds.
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const xa = r * inF;
    const xb = xa + inF;
    let o = 0;
    for (; o + 3 < outF; o += 4) {
      const w0 = o * inF, w1 = w0 + inF, w2 = w1 + inF, w3 = w2 + inF;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let i = 0; i < inF; i++) {
        const xai = x[xa + i], xbi = x[xb + i];
        const v0 = W[w0 + i], v1 = W[w1 + i], v2 = W[w2 + i], v3 = W[w3 + i];
        a0 += xai * v0; a1 += xai * v1; a2 += xai * v2; a3 += xai * v3;
        b0 += xbi * v0; b1 += xbi * v1; b2 += xbi * v2; b3 += xbi * v3;
      }
      const pa = r * outF + o, pb = pa + outF;
      out[pa] = a0; out[pa + 1] = a1; out[pa + 2] = a2; out[pa + 3] = a3;
      out[pb] = b0; out[pb + 1] = b1; out[pb + 2] = b2; out[pb + 3] = b3;
    }
    for (; o < outF; o++) {
      const w0 = o * inF;
      let a = 0, b = 0;
      for (let i = 0; i < inF; i++) {
        a += x[xa + i] * W[w0 + i];
        b += x[xb + i] * W[w0 + i];
      }
      out[r * outF + o] = a;
      out[(r + 1) * outF + o] = b;
    }
  }
  for (; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let a = 0;
      for (let i = 0; i < inF; i++) a += x[r * inF + i] * W[o * inF + i];
      out[r * outF + o] = a;
    }
  }
  if (bias) {
    for (let row = 0; row < rows; row++) for (let o = 0; o < outF; o++) out[row * outF + o] += bias[o];
  }
  return out;
}

/** A block Linear or lm_head: float64, or the int8 arithmetic. */
function modelLinear(m: OracleModel, x: Float64Array, rows: number, inF: number, W: Float64Array, outF: number): Float64Array {
  return m.int8 ? int8Linear(x, rows, inF, W, outF) : linear(x, rows, inF, W, outF);
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Official `rms_norm`: weightless, x * rsqrt(mean(x^2) + eps) over the last axis, in place. */
function rmsNormRows(x: Float64Array, rows: number, width: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * width;
    let sumSq = 0;
    for (let i = 0; i < width; i++) sumSq += x[off + i] * x[off + i];
    const scale = 1 / Math.sqrt(sumSq / width + eps);
    for (let i = 0; i < width; i++) x[off + i] *= scale;
  }
}

function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** Official `SwiGLU`: down(silu(gate) * up), gate and up the two halves of gate_up_proj(x). */
function swiglu(m: OracleModel, x: Float64Array, rows: number, w: SwiGluWeights): Float64Array {
  const gateUp = modelLinear(m, x, rows, w.width, w.gateUp, 2 * w.inter);
  const act = new Float64Array(rows * w.inter);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < w.inter; j++) {
      const gate = gateUp[r * 2 * w.inter + j];
      const up = gateUp[r * 2 * w.inter + w.inter + j];
      act[r * w.inter + j] = silu(gate) * up;
    }
  }
  return modelLinear(m, act, rows, w.inter, w.down, w.width);
}

/** [B, R, C] -> [B, C, R]. */
function transpose12(x: Float64Array, B: number, R: number, C: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) out[(b * C + c) * R + r] = x[(b * R + r) * C + c];
    }
  }
  return out;
}

/**
 * Official `Attention` (non-causal, num_key_value_heads = num_heads). qkv_proj's output is
 * viewed as [heads + 2 * kvHeads, headDim] per position: query heads first, then key heads,
 * then value heads. RoPE (rotate_half) applies to query and key; SDPA scales by 1/sqrt(headDim).
 */
function attention(m: OracleModel, h: Float64Array, qkvW: Float64Array, oW: Float64Array): Float64Array {
  const { B, T, D, heads, headDim, cos, sin } = m;
  const kvHeads = heads;
  const qkvWidth = (heads + 2 * kvHeads) * headDim;
  const qkv = modelLinear(m, h, B * T, D, qkvW, qkvWidth);
  const half = headDim / 2;

  // Gather q, k, v as [B, heads, T, headDim], applying RoPE to q and k on the way.
  const q = new Float64Array(B * heads * T * headDim);
  const k = new Float64Array(B * kvHeads * T * headDim);
  const v = new Float64Array(B * kvHeads * T * headDim);
  const rope = (src: number, dst: Float64Array, dstOff: number, t: number): void => {
    for (let j = 0; j < headDim; j++) {
      const x = qkv[src + j];
      if (cos === null || sin === null) {
        dst[dstOff + j] = x;
      } else {
        // rotate_half(x)[j] = -x[j + half] for j < half, x[j - half] otherwise.
        const rotated = j < half ? -qkv[src + j + half] : qkv[src + j - half];
        dst[dstOff + j] = x * cos[t * headDim + j] + rotated * sin[t * headDim + j];
      }
    }
  };
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const rowOff = (b * T + t) * qkvWidth;
      for (let hd = 0; hd < heads; hd++) {
        rope(rowOff + hd * headDim, q, ((b * heads + hd) * T + t) * headDim, t);
      }
      for (let hd = 0; hd < kvHeads; hd++) {
        rope(rowOff + (heads + hd) * headDim, k, ((b * kvHeads + hd) * T + t) * headDim, t);
        const vSrc = rowOff + (heads + kvHeads + hd) * headDim;
        const vDst = ((b * kvHeads + hd) * T + t) * headDim;
        for (let j = 0; j < headDim; j++) v[vDst + j] = qkv[vSrc + j];
      }
    }
  }

  // softmax(q k^T / sqrt(headDim)) v per (batch, head), laid out back as [B, T, heads * headDim].
  const scale = 1 / Math.sqrt(headDim);
  const attnOut = new Float64Array(B * T * heads * headDim);
  const scores = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let hd = 0; hd < heads; hd++) {
      const qBase = (b * heads + hd) * T * headDim;
      const kvBase = (b * kvHeads + hd) * T * headDim;
      for (let i = 0; i < T; i++) {
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qBase + i * headDim + d] * k[kvBase + j * headDim + d];
          scores[j] = dot * scale;
          if (scores[j] > max) max = scores[j];
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        const outOff = (b * T + i) * heads * headDim + hd * headDim;
        for (let d = 0; d < headDim; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += scores[j] * v[kvBase + j * headDim + d];
          attnOut[outOff + d] = acc / sum;
        }
      }
    }
  }
  return modelLinear(m, attnOut, B * T, heads * headDim, oW, D);
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

/** Official `TinyRecursiveReasoningModel_ACTV1Block.forward`: post-norm residual blocks. */
function block(m: OracleModel, w: BlockWeights, hIn: Float64Array): Float64Array {
  const { B, T, D } = m;
  const eps = m.config.rms_norm_eps;
  let h: Float64Array;
  if (w.mlpT) {
    // Token mixing: the SwiGLU runs over the token axis of [B, D, T], and so does the norm
    // that follows it (rms over T for each hidden channel, not over D for each token).
    const hT = transpose12(hIn, B, T, D);
    const mixed = add(hT, swiglu(m, hT, B * D, w.mlpT));
    rmsNormRows(mixed, B * D, T, eps);
    h = transpose12(mixed, B, D, T);
  } else {
    h = add(hIn, attention(m, hIn, w.qkv!, w.o!));
    rmsNormRows(h, B * T, D, eps);
  }
  const out = add(h, swiglu(m, h, B * T, w.mlp));
  rmsNormRows(out, B * T, D, eps);
  return out;
}

/** Official `ReasoningModule.forward`: the injection is added once, before the first layer. */
function lLevel(m: OracleModel, h: Float64Array, injection: Float64Array): Float64Array {
  let x = add(h, injection);
  for (const w of m.blocks) x = block(m, w, x);
  return x;
}

/** Official `_input_embeddings`: [B, totalLen, hidden]. */
function inputEmbeddings(m: OracleModel, weights: OracleWeights, inputs: Int32Array, puzzleIdentifiers: Int32Array): Float64Array {
  const { config, B, T, D, puzzleEmbLen } = m;
  const seqLen = config.seq_len;
  const vocab = config.vocab_size;
  const tokenEmb = getWeight(weights, 'inner.embed_tokens.embedding_weight', vocab * D);
  const emb = new Float64Array(B * T * D);

  const ndim = config.puzzle_emb_ndim;
  // Only models with a puzzle prefix carry the table (`puzzle_emb` exists only when ndim > 0).
  const puzzleEmb = ndim > 0 ? getWeight(weights, 'inner.puzzle_emb.weights', config.num_puzzle_identifiers * ndim) : null;

  for (let b = 0; b < B; b++) {
    // Puzzle prefix: the identifier's puzzle_emb_ndim values, zero-padded to
    // puzzleEmbLen * hidden and viewed as [puzzleEmbLen, hidden]. Float64Array starts at
    // zero, so the padding is simply what is not written.
    if (puzzleEmb !== null) {
      const id = puzzleIdentifiers[b];
      if (!Number.isInteger(id) || id < 0 || id >= config.num_puzzle_identifiers) {
        throw new RangeError(`oracle: puzzle identifier ${id} of sample ${b} is outside [0, ${config.num_puzzle_identifiers})`);
      }
      for (let i = 0; i < ndim; i++) emb[b * T * D + i] = puzzleEmb[id * ndim + i];
    }
    for (let s = 0; s < seqLen; s++) {
      const tok = inputs[b * seqLen + s];
      if (!Number.isInteger(tok) || tok < 0 || tok >= vocab) {
        throw new RangeError(`oracle: token ${tok} at sample ${b}, position ${s} is outside [0, ${vocab})`);
      }
      const dst = (b * T + puzzleEmbLen + s) * D;
      for (let d = 0; d < D; d++) emb[dst + d] = tokenEmb[tok * D + d];
    }
  }

  if (config.pos_encodings === 'learned') {
    // Learned positions cover the prefix too, and are mixed in before the sqrt(hidden) scale.
    const pos = getWeight(weights, 'inner.embed_pos.embedding_weight', T * D);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < T * D; i++) emb[b * T * D + i] = LEARNED_POS_SCALE * (emb[b * T * D + i] + pos[i]);
    }
  }

  const embedScale = Math.sqrt(D);
  for (let i = 0; i < emb.length; i++) emb[i] *= embedScale;
  return emb;
}

function buildModel(config: TrmConfig, weights: OracleWeights, B: number, int8: boolean): OracleModel {
  const dims = modelDimensions(config);
  const rope = config.pos_encodings === 'rope' ? ropeTables(dims.totalLen, dims.headDim, config.rope_theta) : null;
  return {
    config,
    int8,
    B,
    T: dims.totalLen,
    D: config.hidden_size,
    heads: config.num_heads,
    headDim: dims.headDim,
    puzzleEmbLen: dims.puzzleEmbLen,
    blocks: loadBlocks(config, weights),
    cos: rope ? rope.cos : null,
    sin: rope ? rope.sin : null,
  };
}

/**
 * One official ACT step in eval mode (`TinyRecursiveReasoningModel_ACTV1_Inner.forward`)
 * from the given carry; `precision: 'int8'` computes every block Linear and lm_head with the
 * int8 scheme (`int8Linear`), the rest as before. The ACT wrapper's reset is not applied here: pass the initial carry
 * (`referenceInitialCarry`) for a fresh sample, as the official wrapper does on step 0.
 */
export function referenceStep(config: TrmConfig, weights: OracleWeights, batch: OracleBatch, options: { precision?: 'fp32' | 'int8' } = {}): OracleStepResult {
  const B = batch.puzzleIdentifiers.length;
  const m = buildModel(config, weights, B, options.precision === 'int8');
  const { T, D, puzzleEmbLen } = m;
  const seqLen = config.seq_len;
  const vocab = config.vocab_size;
  if (batch.inputs.length !== B * seqLen) {
    throw new Error(`oracle: inputs has ${batch.inputs.length} elements, expected B * seq_len = ${B * seqLen}`);
  }
  for (const [name, z] of [['zH', batch.zH], ['zL', batch.zL]] as const) {
    if (z.length !== B * T * D) throw new Error(`oracle: ${name} has ${z.length} elements, expected B * totalLen * hidden = ${B * T * D}`);
  }

  const x = inputEmbeddings(m, weights, batch.inputs, batch.puzzleIdentifiers);

  // H_cycles x [L_cycles x (z_L <- L(z_L, z_H + x)); z_H <- L(z_H, z_L)]. The official code
  // runs the first H_cycles - 1 under no_grad, which changes nothing in the forward values.
  let zH: Float64Array = Float64Array.from(batch.zH);
  let zL: Float64Array = Float64Array.from(batch.zL);
  for (let hc = 0; hc < config.H_cycles; hc++) {
    for (let lc = 0; lc < config.L_cycles; lc++) zL = lLevel(m, zL, add(zH, x));
    zH = lLevel(m, zH, zL);
  }

  // lm_head over every position, then the puzzle prefix dropped.
  const lmHead = getWeight(weights, 'inner.lm_head.weight', vocab * D);
  const allLogits = modelLinear(m, zH, B * T, D, lmHead, vocab);
  const logits = new Float64Array(B * seqLen * vocab);
  for (let b = 0; b < B; b++) {
    const src = (b * T + puzzleEmbLen) * vocab;
    logits.set(allLogits.subarray(src, src + seqLen * vocab), b * seqLen * vocab);
  }

  // The Q head reads position 0: the first prefix position, or the first token when there is no prefix.
  const qW = getWeight(weights, 'inner.q_head.weight', 2 * D);
  const qB = getWeight(weights, 'inner.q_head.bias', 2);
  const first = new Float64Array(B * D);
  for (let b = 0; b < B; b++) first.set(zH.subarray(b * T * D, b * T * D + D), b * D);
  const q = linear(first, B, D, qW, 2, qB);
  const qHalt = new Float64Array(B);
  const qContinue = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    qHalt[b] = q[b * 2];
    qContinue[b] = q[b * 2 + 1];
  }

  return { zH, zL, logits, qHalt, qContinue };
}

/** The carry a fresh sample enters step 0 with: `H_init` / `L_init` broadcast over every position. */
export function referenceInitialCarry(config: TrmConfig, weights: OracleWeights, batchSize: number): { zH: Float64Array; zL: Float64Array } {
  const { totalLen } = modelDimensions(config);
  const D = config.hidden_size;
  const hInit = getWeight(weights, 'inner.H_init', D);
  const lInit = getWeight(weights, 'inner.L_init', D);
  const zH = new Float64Array(batchSize * totalLen * D);
  const zL = new Float64Array(batchSize * totalLen * D);
  for (let row = 0; row < batchSize * totalLen; row++) {
    zH.set(hInit, row * D);
    zL.set(lInit, row * D);
  }
  return { zH, zL };
}
