/**
 * The int8 ONNX graph (`exportOnnx(..., { precision: 'int8' })`) on onnxruntime, against the
 * float64 oracle computing the same quantized arithmetic (test/oracle/reference.ts,
 * `precision: 'int8'`: its own quantizer, float32 quantization steps, exact integer sums), on
 * the golden models from the golden carry.
 *
 * The two see the same float32 activations only up to float32 rounding elsewhere (norms,
 * softmax, residuals are float64 in the oracle), so a value that lands within rounding of a
 * .5 step can quantize one level apart: each such flip moves one product by s_x * s_w. One
 * network pass (H_cycles = L_cycles = 1) keeps that at the 1e-3 scale; the full recursion
 * (21 network calls per step) amplifies flips like any perturbation (the golden README: the
 * recursion is chaotic under random weights), most for mlp_t, so its bounds are wider and
 * only there to catch a wrong graph (a wrong scale or axis gives errors near 1).
 *
 * Also: int8 against the official fp32 outputs (what quantization costs on random weights),
 * the quantizer against the oracle's bit for bit, the all-zero row, and the graph's ops.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import { createOnnxModel } from '../../lib';
import { readModelDirectory } from '../../lib/model/directory';
import { quantizeRows } from '../../lib/model/quantize';
import { quantizedLinears } from '../../lib/model/weights';
import { exportOnnx } from '../../lib/onnx/exporter';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { modelDimensions, type TrmConfig } from '../../lib/model/config';
import type { WeightMap } from '../../lib/model/weights';
import { GOLDEN_NAMES, concat, loadGolden, relativeError, type GoldenCase } from '../helpers/golden';
import { referenceQuantizeWeight } from '../oracle/int8';
import { referenceStep } from '../oracle/reference';

/**
 * ONNX int8 against the int8 oracle. A sample is "exact" when every quantity is within
 * EXACT of the oracle (the same arithmetic up to float32 rounding: no value quantized one
 * level apart); flips elsewhere are bounded norm-wise per quantity over all samples. A wrong
 * scale, axis or rounding mode leaves no sample exact in the one-pass check.
 */
const EXACT = 1e-5;
const BOUNDS = {
  /** One network pass: most samples exact (measured 63-100%); flips put the norm-wise errors at up to 1e-2. */
  onePass: { exactShare: 0.5, flip: 0.1 },
  /**
   * The full recursion: flips spread through 21 network calls, so few samples stay exact
   * except on the smallest model (measured 0-100%), and the norm-wise errors reach 3e-2 to
   * 5e-2 (attention) and 0.35 (mlp_t).
   */
  fullStep: { flip: { attention: 0.15, mlpT: 0.8 } },
};
/**
 * int8 vs the official fp32 logits over the full recursion, norm-wise relative: measured
 * 2.6e-2 to 9.7e-2 (attention) and 0.68 (mlp_t) on these random, chaotic weights, which
 * amplify any perturbation (bf16 measures 0.2 on the mlp_t case). What int8 costs a trained
 * model is measured on the shipped models (test/models/precision.test.ts).
 */
const VS_FP32_BOUND = { attention: 0.2, mlpT: 0.9 };
/** Golden steps the oracle computes, one pass and full recursion (the int8 oracle takes seconds per mlp_t step). */
const ORACLE_STEPS = { onePass: 8, fullStep: { attention: 2, mlpT: 1 } };

/** The oracle for golden steps 0 .. n - 1, yielding between steps so the test worker stays responsive. */
async function oracleSteps(config: TrmConfig, weights: WeightMap, g: GoldenCase, n: number) {
  const out = [];
  for (let s = 0; s < n; s++) {
    out.push(oracleStep(config, weights, g, s));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

type Quantity = 'logits' | 'qHalt' | 'zH' | 'zL';
const QUANTITIES: Quantity[] = ['logits', 'qHalt', 'zH', 'zL'];
const rows: string[] = [];
afterAll(() => {
  console.log(['onnx int8 vs the int8 oracle per sample and step (exact: every quantity within 1e-5), and vs the official fp32 outputs',
    'case                   check                          exact         logits     qHalt      zH         zL', ...rows].join('\n'));
});

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toExponential(2)).padEnd(11);

/** Every golden step's carry as one batch (sample block s enters step s), as the golden parity tests do. */
function goldenBatch(g: GoldenCase, steps: number) {
  const inputs = new Int32Array(steps * g.inputs.length);
  const ids = new Int32Array(steps * g.batch);
  for (let s = 0; s < steps; s++) {
    inputs.set(g.inputs, s * g.inputs.length);
    ids.set(g.puzzleIdentifiers, s * g.batch);
  }
  return { inputs, puzzleIdentifiers: ids, carry: { zH: concat(g.zH.slice(0, steps)), zL: concat(g.zL.slice(0, steps)) } };
}

async function onnxStep(config: TrmConfig, weights: WeightMap, g: GoldenCase, steps: number) {
  const model = await createOnnxModel(config, weights, { threads: 2, precision: 'int8' });
  expect(model.info.precision).toBe('int8');
  const r = await model.infer(goldenBatch(g, steps), { maxSteps: 1, returnCarry: true });
  model.dispose();
  return r;
}

function oracleStep(config: TrmConfig, weights: WeightMap, g: GoldenCase, s: number) {
  return referenceStep(config, weights, {
    inputs: g.inputs, puzzleIdentifiers: g.puzzleIdentifiers, zH: Float64Array.from(g.zH[s]), zL: Float64Array.from(g.zL[s]),
  }, { precision: 'int8' });
}

interface Comparison {
  /** Per sample: the relative error of each quantity. */
  samples: Record<Quantity, number>[];
  /** Norm-wise relative error of each quantity over every compared sample (the golden README's metric). */
  overall: Record<Quantity, number>;
}

/** ONNX step blocks 0 .. refs.length - 1 against the oracle's result for each golden step. */
function compare(r: Awaited<ReturnType<typeof onnxStep>>, g: GoldenCase, refs: ReturnType<typeof oracleStep>[]): Comparison {
  const size: Record<Quantity, number> = { logits: g.seqLen * g.vocab, qHalt: 1, zH: g.totalLen * g.hidden, zL: g.totalLen * g.hidden };
  const got: Record<Quantity, Float32Array> = { logits: r.logits, qHalt: r.qHalt, zH: r.carry!.zH, zL: r.carry!.zL };
  const samples: Record<Quantity, number>[] = [];
  refs.forEach((ref, s) => {
    for (let b = 0; b < g.batch; b++) {
      const i = s * g.batch + b;
      const e = {} as Record<Quantity, number>;
      for (const q of QUANTITIES) e[q] = relativeError(got[q].subarray(i * size[q], (i + 1) * size[q]), ref[q].subarray(b * size[q], (b + 1) * size[q]));
      samples.push(e);
    }
  });
  const overall = {} as Record<Quantity, number>;
  for (const q of QUANTITIES) overall[q] = relativeError(got[q].subarray(0, refs.length * g.batch * size[q]), concat(refs.map((ref) => ref[q])));
  return { samples, overall };
}

/** The share of exact samples and the norm-wise errors, printed and held to the bounds. */
function judge(name: string, check: string, c: Comparison, bound: { exactShare: number; flip: number }): void {
  const exactShare = c.samples.filter((e) => QUANTITIES.every((q) => e[q] < EXACT)).length / c.samples.length;
  rows.push(`${name.padEnd(23)}${check.padEnd(31)}${`${(100 * exactShare).toFixed(0)}% of ${c.samples.length}`.padEnd(10)}${''.padEnd(4)}${QUANTITIES.map((q) => fmt(c.overall[q])).join('')}`);
  expect(exactShare, `${check}: share of samples that match the oracle to ${EXACT}`).toBeGreaterThanOrEqual(bound.exactShare);
  for (const q of QUANTITIES) expect(c.overall[q], `${check}: ${q}`).toBeLessThan(bound.flip);
}

describe.each(GOLDEN_NAMES)('onnx int8, golden %s', (name) => {
  const g = loadGolden(name);
  const { config, weights } = readModelDirectory(g.dir);

  it('quantizes every Linear exactly as the oracle does', () => {
    for (const spec of quantizedLinears(config)) {
      const [rowsN, cols] = spec.shape;
      const ours = quantizeRows(weights[spec.name], rowsN, cols);
      const ref = referenceQuantizeWeight(weights[spec.name], rowsN, cols);
      expect(Array.from(ours.q), spec.name).toEqual(Array.from(ref.q));
      expect(Array.from(ours.scale), spec.name).toEqual(Array.from(ref.scale));
    }
  });

  it('one network pass from the golden carry matches the int8 oracle', async () => {
    const onePass = { ...config, H_cycles: 1, L_cycles: 1 };
    const r = await onnxStep(onePass, weights, g, g.steps);
    const steps = Math.min(g.steps, ORACLE_STEPS.onePass);
    const refs = await oracleSteps(onePass, weights, g, steps);
    judge(name, `one pass, ${steps} steps`, compare(r, g, refs), BOUNDS.onePass);
  });

  it('the full step matches the int8 oracle; int8 vs the official fp32 outputs, reported', async () => {
    const r = await onnxStep(config, weights, g, g.steps);
    const kind = config.mlp_t ? 'mlpT' : 'attention';
    const steps = ORACLE_STEPS.fullStep[kind];
    const refs = await oracleSteps(config, weights, g, steps);
    judge(name, `full step, first ${steps} step(s)`, compare(r, g, refs), { exactShare: 0, flip: BOUNDS.fullStep.flip[kind] });

    const L = g.logits[0].length;
    let vsFp32 = 0;
    for (let s = 0; s < g.steps; s++) vsFp32 = Math.max(vsFp32, relativeError(r.logits.subarray(s * L, (s + 1) * L), g.logits[s]));
    rows.push(`${name.padEnd(23)}${`int8 vs fp32 golden, ${g.steps} steps`.padEnd(45)}${fmt(vsFp32)}`);
    expect(vsFp32).toBeLessThan(VS_FP32_BOUND[kind]);
    // Quantization noise is there: a graph that silently ran fp32 would be within 1e-4.
    expect(vsFp32).toBeGreaterThan(1e-3);
  });
});

describe('int8 graph', () => {
  it('uses only standard-domain ops, MatMulInteger for every quantized Linear, and Gemm (fp32) for q_head', () => {
    const config = randomConfig({ seq_len: 6, vocab_size: 5, hidden_size: 16, num_heads: 2, L_layers: 2 });
    const weights = randomWeights(config, { seed: 3 });
    const model = onnx.ModelProto.decode(exportOnnx(config, weights, { precision: 'int8' }));
    const ops = model.graph!.node!.map((n) => n.opType!);
    expect(model.opsetImport.map((o) => o.domain ?? '')).toEqual(['']);
    // Per ACT step: H_cycles * (L_cycles + 1) network calls, each L_layers blocks of 4 Linears, then lm_head;
    // float MatMul is left only for attention's QK^T and PV.
    const calls = config.H_cycles * (config.L_cycles + 1);
    expect(ops.filter((o) => o === 'MatMulInteger').length).toBe(calls * config.L_layers * 4 + 1);
    expect(ops.filter((o) => o === 'MatMul').length).toBe(calls * config.L_layers * 2);
    expect(ops.filter((o) => o === 'Gemm').length).toBe(1);
    const meta = new Map(model.metadataProps.map((p) => [p.key, p.value]));
    expect(meta.get('trm.precision')).toBe('int8');
    const int8Inits = model.graph!.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.INT8);
    expect(int8Inits.length).toBe(quantizedLinears(config).length);
  });

  it('an all-zero activation row quantizes to 0, not NaN', async () => {
    // Token 0's embedding is zero and so is the carry, so the first qkv_proj sees zero rows
    // beside nonzero ones (a NaN there would spread to every position through attention).
    const config = randomConfig({
      seq_len: 5, vocab_size: 4, hidden_size: 16, num_heads: 2, L_layers: 1, H_cycles: 1, L_cycles: 1, pos_encodings: 'rope', puzzle_emb_ndim: 0, puzzle_emb_len: 0,
    });
    const weights = randomWeights(config, { seed: 5 });
    weights['inner.embed_tokens.embedding_weight'].fill(0, 0, config.hidden_size);
    const { totalLen } = modelDimensions(config);
    const zeros = () => new Float32Array(totalLen * config.hidden_size);
    const inputs = Int32Array.from([0, 1, 2, 0, 3]);
    const model = await createOnnxModel(config, weights, { threads: 1, precision: 'int8' });
    const r = await model.infer({ inputs, carry: { zH: zeros(), zL: zeros() } }, { maxSteps: 1, returnCarry: true });
    model.dispose();
    expect(r.logits.every(Number.isFinite)).toBe(true);
    expect(r.carry!.zH.every(Number.isFinite)).toBe(true);
    const ref = referenceStep(config, weights, { inputs, puzzleIdentifiers: new Int32Array(1), zH: Float64Array.from(zeros()), zL: Float64Array.from(zeros()) }, { precision: 'int8' });
    expect(relativeError(r.logits, ref.logits)).toBeLessThan(EXACT);
  });
});
