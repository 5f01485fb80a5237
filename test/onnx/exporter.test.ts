/**
 * The ONNX exporter (lib/onnx), run in onnxruntime-node on the CPU: one-step parity with the
 * official code's golden outputs, the float64 oracle on configurations the golden data
 * lacks, the structure and metadata of the file, the `run` graph against repeated `step`s,
 * and a Sudoku-size model's file size and load time.
 */
import { describe, expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { ONNX_OPSET, exportOnnx, initialCarry, weightsFingerprint } from '../../lib/onnx';
import { modelDimensions, parseConfig, type TrmConfig } from '../../lib/model/config';
import { readModelDirectory } from '../../lib/model/directory';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { SeededRandom } from '../../lib/util/seeded-random';
import type { WeightMap } from '../../lib/model/weights';
import { referenceStep } from '../oracle/reference';
import { GOLDEN_NAMES, concat, loadGolden, relativeError } from '../helpers/golden';

// Per quantity, the acceptance bound of every backend; a correct float32 graph lands near 5e-5 at worst.
const TOLERANCE = { logits: 1e-4, qHalt: 1e-4, qContinue: 1e-4, zH: 1e-4, zL: 1e-4 };
type Quantity = keyof typeof TOLERANCE;

interface StepOutputs { zH: Float32Array; zL: Float32Array; logits: Float32Array; qHalt: Float32Array; qContinue: Float32Array }

async function session(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
}

async function runStep(s: ort.InferenceSession, config: TrmConfig, inputs: Int32Array, ids: Int32Array, zH: Float32Array, zL: Float32Array): Promise<StepOutputs> {
  const B = ids.length;
  const { totalLen } = modelDimensions(config);
  const carryDims = [B, totalLen, config.hidden_size];
  const out = await s.run({
    inputs: new ort.Tensor('int32', inputs, [B, config.seq_len]),
    puzzle_identifiers: new ort.Tensor('int32', ids, [B]),
    z_H: new ort.Tensor('float32', zH, carryDims),
    z_L: new ort.Tensor('float32', zL, carryDims),
  });
  const f = (name: string) => out[name].data as Float32Array;
  expect(out.logits.dims).toEqual([B, config.seq_len, config.vocab_size]);
  expect(out.z_H_next.dims).toEqual(carryDims);
  expect(out.q_halt.dims).toEqual([B]);
  return { zH: f('z_H_next'), zL: f('z_L_next'), logits: f('logits'), qHalt: f('q_halt'), qContinue: f('q_continue') };
}


function format(errors: Record<string, number>): string {
  return Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');
}

function expectWithin(errors: Record<Quantity, number>): void {
  for (const k of Object.keys(TOLERANCE) as Quantity[]) {
    expect(errors[k], k).toBeLessThan(TOLERANCE[k]);
  }
}

describe.each(GOLDEN_NAMES)('golden %s', (name) => {
  it('step graph: one-step parity from the golden carry at every step', async () => {
    const golden = loadGolden(name);
    const { config, weights } = readModelDirectory(golden.dir);
    const { batch: B, steps: S } = golden;
    const s = await session(exportOnnx(config, weights));
    // All S steps in one run: sample block s enters step s from the golden carry.
    const inputs = concat(Array.from({ length: S }, () => golden.inputs));
    const r = await runStep(s, config,
      Int32Array.from(inputs), Int32Array.from(concat(Array.from({ length: S }, () => golden.puzzleIdentifiers))),
      concat(golden.zH.slice(0, S)), concat(golden.zL.slice(0, S)));
    const worst: Record<Quantity, number> = { logits: 0, qHalt: 0, qContinue: 0, zH: 0, zL: 0 };
    const logitsPer = golden.logits[0].length, carryPer = golden.zH[0].length;
    for (let step = 0; step < S; step++) {
      const errors: Record<Quantity, number> = {
        logits: relativeError(r.logits.subarray(step * logitsPer, (step + 1) * logitsPer), golden.logits[step]),
        qHalt: relativeError(r.qHalt.subarray(step * B, (step + 1) * B), golden.qHalt[step]),
        qContinue: relativeError(r.qContinue.subarray(step * B, (step + 1) * B), golden.qContinue[step]),
        zH: relativeError(r.zH.subarray(step * carryPer, (step + 1) * carryPer), golden.zH[step + 1]),
        zL: relativeError(r.zL.subarray(step * carryPer, (step + 1) * carryPer), golden.zL[step + 1]),
      };
      for (const k of Object.keys(worst) as Quantity[]) worst[k] = Math.max(worst[k], errors[k]);
    }
    console.log(`onnx golden ${name} worst relative error over ${S} steps: ${format(worst)}`);
    expectWithin(worst);
    await s.release();
  });
});

interface OracleCase { label: string; batch: number; config: Partial<TrmConfig> }

const ORACLE_CASES: OracleCase[] = [
  { label: 'rope, hidden 36 / 3 heads, seq 13, prefix 2 (padded)', batch: 3, config: { hidden_size: 36, num_heads: 3, seq_len: 13, puzzle_emb_ndim: 40, puzzle_emb_len: 0, num_puzzle_identifiers: 4 } },
  { label: 'learned, hidden 33 / 3 heads, seq 7, 3 layers', batch: 5, config: { hidden_size: 33, num_heads: 3, seq_len: 7, pos_encodings: 'learned', L_layers: 3 } },
  { label: 'learned, hidden 30, prefix 2, 2 layers', batch: 2, config: { hidden_size: 30, num_heads: 2, seq_len: 5, pos_encodings: 'learned', L_layers: 2, puzzle_emb_ndim: 30, puzzle_emb_len: 2, num_puzzle_identifiers: 3 } },
  { label: 'none, hidden 20 / 5 heads, seq 17, prefix 3', batch: 2, config: { hidden_size: 20, num_heads: 5, seq_len: 17, pos_encodings: 'none', puzzle_emb_ndim: 20, puzzle_emb_len: 3, num_puzzle_identifiers: 2 } },
  { label: 'mlp_t, hidden 24, seq 9, prefix 1, 2 layers', batch: 4, config: { hidden_size: 24, num_heads: 2, seq_len: 9, mlp_t: true, pos_encodings: 'none', puzzle_emb_ndim: 24, puzzle_emb_len: 1, num_puzzle_identifiers: 3, L_layers: 2 } },
  { label: 'mlp_t, hidden 17, seq 33, 1 layer, expansion 3', batch: 3, config: { hidden_size: 17, num_heads: 1, seq_len: 33, mlp_t: true, pos_encodings: 'none', expansion: 3 } },
  { label: 'rope, hidden 40 / 2 heads, seq 31, 2 layers, H3 L1', batch: 1, config: { hidden_size: 40, num_heads: 2, seq_len: 31, L_layers: 2, H_cycles: 3, L_cycles: 1 } },
];

function randomCarry(rng: SeededRandom, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

describe('step graph against the float64 oracle', () => {
  it.each(ORACLE_CASES)('$label', async ({ batch, config: overrides }) => {
    const config = randomConfig(overrides);
    const dims = modelDimensions(config);
    const weights = randomWeights(config, { seed: 11, qHeadStd: 0.2, puzzleEmbStd: 1 / Math.sqrt(config.hidden_size) });
    const rng = new SeededRandom(5, 'inputs');
    const inputs = Int32Array.from({ length: batch * config.seq_len }, () => rng.nextU32() % config.vocab_size);
    const ids = Int32Array.from({ length: batch }, (_, b) => b % config.num_puzzle_identifiers);
    const size = batch * dims.totalLen * config.hidden_size;
    const zH = randomCarry(rng, size), zL = randomCarry(rng, size);
    const ref = referenceStep(config, weights, { inputs, puzzleIdentifiers: ids, zH: Float64Array.from(zH), zL: Float64Array.from(zL) });
    const s = await session(exportOnnx(config, weights));
    const r = await runStep(s, config, inputs, ids, zH, zL);
    const errors: Record<Quantity, number> = {
      logits: relativeError(r.logits, ref.logits),
      qHalt: relativeError(r.qHalt, ref.qHalt),
      qContinue: relativeError(r.qContinue, ref.qContinue),
      zH: relativeError(r.zH, ref.zH),
      zL: relativeError(r.zL, ref.zL),
    };
    console.log(`onnx vs oracle: ${format(errors)}`);
    expectWithin(errors);
    await s.release();
  });
});

describe('model structure', () => {
  const config = randomConfig({ puzzle_emb_ndim: 32, puzzle_emb_len: 1, num_puzzle_identifiers: 2, pos_encodings: 'learned' });
  const weights = randomWeights(config, { seed: 3, puzzleEmbStd: 0.1 });

  it.each(['step', 'run'] as const)('%s: opset 17, standard-domain ops only, metadata present', (graph) => {
    const model = onnx.ModelProto.decode(exportOnnx(config, weights, { graph }));
    // Decoded messages hold every repeated field, which the I* interfaces leave optional.
    const g = model.graph as onnx.GraphProto;
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET]]);
    expect(Number(model.irVersion)).toBe(8);
    const standard = new Set(['Add', 'Concat', 'Div', 'Expand', 'Gather', 'Gemm', 'Identity', 'MatMul', 'Mul', 'Neg', 'Pad',
      'ReduceMean', 'Reshape', 'Shape', 'Sigmoid', 'Slice', 'Softmax', 'Split', 'Sqrt', 'Transpose']);
    for (const node of g.node as onnx.NodeProto[]) {
      expect(node.domain).toBe('');
      expect(standard.has(node.opType), node.opType).toBe(true);
    }
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(meta['trm.fingerprint']).toBe(weightsFingerprint(config, weights));
    expect(meta['trm.graph']).toBe(graph);
    expect(JSON.parse(meta['trm.config'])).toEqual(config);
    if (graph === 'run') expect(meta['trm.steps']).toBe(String(config.halt_max_steps));
    else expect(meta['trm.steps']).toBeUndefined();
    const names = (list: onnx.IValueInfoProto[]) => list.map((v) => v.name);
    expect(names(g.input)).toEqual(graph === 'step' ? ['inputs', 'puzzle_identifiers', 'z_H', 'z_L'] : ['inputs', 'puzzle_identifiers']);
    expect(names(g.output).sort()).toEqual(
      (graph === 'step' ? ['z_H_next', 'z_L_next'] : ['z_H', 'z_L']).concat(['logits', 'q_halt', 'q_continue']).sort());
  });

  it('the fingerprint follows every weight value and the config, and nothing else', () => {
    const base = weightsFingerprint(config, weights);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const copy: WeightMap = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, Float32Array.from(v)]));
    expect(weightsFingerprint({ ...config }, copy)).toBe(base);
    copy['inner.L_level.layers.0.mlp.down_proj.weight'][7] += 1e-6;
    expect(weightsFingerprint(config, copy)).not.toBe(base);
    expect(weightsFingerprint({ ...config, H_cycles: config.H_cycles + 1 }, weights)).not.toBe(base);
  });

  it('rejects bad options and weights with typed errors', () => {
    expect(() => exportOnnx(config, weights, { graph: 'loop' as 'run' })).toThrow(/graph/);
    expect(() => exportOnnx(config, weights, { steps: 2 })).toThrow(/steps/);
    expect(() => exportOnnx(config, weights, { graph: 'run', steps: 0 })).toThrow(/steps/);
    const missing = { ...weights };
    delete missing['inner.q_head.bias'];
    expect(() => exportOnnx(config, missing)).toThrow(/inner\.q_head\.bias/);
  });
});

describe('run graph', () => {
  it.each([
    { label: 'rope with prefix', config: { puzzle_emb_ndim: 32, puzzle_emb_len: 1, num_puzzle_identifiers: 2 } },
    { label: 'mlp_t', config: { mlp_t: true, pos_encodings: 'none' as const, L_layers: 2 } },
  ])('$label: 3 steps equal the step graph run 3 times from initialCarry', async ({ config: overrides }) => {
    const config = randomConfig(overrides);
    const weights = randomWeights(config, { seed: 9, qHeadStd: 0.2, puzzleEmbStd: 0.2 });
    const B = 2;
    const rng = new SeededRandom(1, 'run');
    const inputs = Int32Array.from({ length: B * config.seq_len }, () => rng.nextU32() % config.vocab_size);
    const ids = Int32Array.from({ length: B }, (_, b) => b % config.num_puzzle_identifiers);

    const step = await session(exportOnnx(config, weights, { graph: 'step' }));
    let { zH, zL } = initialCarry(config, weights, B);
    let last: StepOutputs | null = null;
    for (let i = 0; i < 3; i++) {
      last = await runStep(step, config, inputs, ids, zH, zL);
      ({ zH, zL } = last);
    }
    const run = await session(exportOnnx(config, weights, { graph: 'run', steps: 3 }));
    const out = await run.run({ inputs: new ort.Tensor('int32', inputs, [B, config.seq_len]), puzzle_identifiers: new ort.Tensor('int32', ids, [B]) });
    const errors = {
      logits: relativeError(out.logits.data as Float32Array, last!.logits),
      qHalt: relativeError(out.q_halt.data as Float32Array, last!.qHalt),
      qContinue: relativeError(out.q_continue.data as Float32Array, last!.qContinue),
      zH: relativeError(out.z_H.data as Float32Array, last!.zH),
      zL: relativeError(out.z_L.data as Float32Array, last!.zL),
    };
    console.log(`onnx run vs 3 x step: ${format(errors)}`);
    // The same float32 operations in the same order; only ORT's graph fusions could move a bit.
    for (const v of Object.values(errors)) expect(v).toBeLessThan(1e-5);
    await step.release();
    await run.release();
  });
});

describe('Sudoku-size model', () => {
  it.each([false, true])('mlp_t %s: file size, loads and runs one step (batch 1)', async (mlpT) => {
    const config = parseConfig({
      seq_len: 81, vocab_size: 11, hidden_size: 512, num_heads: 8, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
      halt_max_steps: 16, pos_encodings: mlpT ? 'none' : 'rope', mlp_t: mlpT, puzzle_emb_ndim: 512, puzzle_emb_len: 16,
      num_puzzle_identifiers: 1,
    });
    const weights = randomWeights(config, { seed: 2, qHeadStd: 0.05 });
    const weightBytes = Object.values(weights).reduce((n, w) => n + w.byteLength, 0);
    const t0 = performance.now();
    const bytes = exportOnnx(config, weights);
    const t1 = performance.now();
    const s = await session(bytes);
    const t2 = performance.now();
    const { zH, zL } = initialCarry(config, weights, 1);
    const r = await runStep(s, config, new Int32Array(81).map((_, i) => i % 11), new Int32Array(1), zH, zL);
    const t3 = performance.now();
    console.log(`onnx Sudoku-size (${mlpT ? 'mlp_t' : 'attention'}): ${(bytes.length / 2 ** 20).toFixed(2)} MiB file, ` +
      `${(weightBytes / 2 ** 20).toFixed(2)} MiB of weights; export ${(t1 - t0).toFixed(0)} ms, load ${(t2 - t1).toFixed(0)} ms, one step ${(t3 - t2).toFixed(0)} ms`);
    // The file is the weights plus a graph of a few hundred kB at most.
    expect(bytes.length).toBeGreaterThan(weightBytes);
    expect(bytes.length).toBeLessThan(weightBytes + 2 ** 20);
    expect(r.logits.every(Number.isFinite)).toBe(true);
    expect(r.qHalt.every(Number.isFinite)).toBe(true);
    await s.release();
  });
});
