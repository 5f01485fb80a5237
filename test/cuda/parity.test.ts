/**
 * The CUDA operator against the CPU operator (the reference, itself matched to the official
 * PyTorch code to 1e-5) on the same weights: generated configs covering every architecture
 * switch and awkward sizes (tokens not a multiple of the 32/64 tiles, head_dim 32..128,
 * batch 1 and past one tile), and the golden cases when their folder is present.
 * Tolerances, per quantity:
 *  - fp32, one step: logits, q, z_H, z_L within 1e-4 relative (only summation order differs).
 *  - whole answers (fp32 and bf16): the recursion amplifies rounding (golden README), so the
 *    bound is measured on the CPU itself. Two CPU kernel tables (the default and another ISA)
 *    differ only in summation order, as the GPU does from the CPU: the GPU's whole-answer
 *    error must stay within WHOLE_ANSWER_MARGIN times theirs (at least the one-step bound),
 *    and its prediction agreement within 5 points of theirs.
 *  - adaptive halting: each sample's step count equal to the CPU's for >= 90% of samples on
 *    the short configs (a q_halt within rounding of the threshold may flip); where the
 *    recursion is long enough to drift (more than 64 net passes per answer), at least as
 *    often as the two CPU tables agree, less one sample.
 *  - bf16 vs CPU bf16, one step: within 1e-2 (both round the same operands to bf16; the
 *    sums differ in order).
 *  - trace, halting, carry: same shapes and semantics; resume from a carry equals running on.
 * Skips with a message without a CUDA build and GPU.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, randomConfig, randomWeights, supportedIsas, type InferOptions, type InferResult, type TrmConfig, type TrmModel, type WeightMap } from '../../lib';
import { readModelDirectory } from '../../lib/model/directory';
import { announceSkip, HAS_GPU } from '../helpers/cuda';
import { GOLDEN_NAMES, goldenDir, loadGolden, relativeError } from '../helpers/golden';
import { MIN_STOP_MARGIN, pickThreshold } from '../helpers/stopping';

announceSkip('cuda parity');

const FP32_ONE_STEP = 1e-4;
const BF16_ONE_STEP = 1e-2;
// How much further than two CPU tables apart the GPU's whole answer may drift.
const WHOLE_ANSWER_MARGIN = 10;
// The CPU reference on a GPU machine's cores: the sudoku-shape answers are seconds each.
const CPU_THREADS = Math.min(16, os.availableParallelism?.() ?? os.cpus().length);

interface Case {
  name: string;
  config: TrmConfig;
  batch: number;
}

const CASES: Case[] = [
  { name: 'rope+puzzle, hd 32, T 20', batch: 3, config: randomConfig({ seq_len: 12, hidden_size: 64, num_heads: 2, L_layers: 2, puzzle_emb_ndim: 64, puzzle_emb_len: 8, num_puzzle_identifiers: 5 }) },
  { name: 'learned, no puzzle, hd 64, T 37', batch: 5, config: randomConfig({ seq_len: 37, hidden_size: 128, num_heads: 2, pos_encodings: 'learned' }) },
  { name: 'no positions, hd 128, T 70', batch: 2, config: randomConfig({ seq_len: 70, hidden_size: 256, num_heads: 2, pos_encodings: 'none', vocab_size: 13 }) },
  { name: 'mlp_t + puzzle, T 33', batch: 4, config: randomConfig({ seq_len: 30, hidden_size: 96, num_heads: 2, mlp_t: true, puzzle_emb_ndim: 96, puzzle_emb_len: 3, num_puzzle_identifiers: 3 }) },
  { name: 'batch past one tile (70 x T 9)', batch: 70, config: randomConfig({ seq_len: 9, hidden_size: 64, num_heads: 4 }) },
  { name: 'sudoku shape (hidden 512, T 97)', batch: 2, config: randomConfig({ seq_len: 81, vocab_size: 11, hidden_size: 512, num_heads: 8, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2, halt_max_steps: 16, puzzle_emb_ndim: 512, puzzle_emb_len: 16, num_puzzle_identifiers: 2 }) },
];

function inputsFor(config: TrmConfig, batch: number, seed: number): { inputs: Int32Array; puzzleIdentifiers: Int32Array } {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const inputs = Int32Array.from({ length: batch * config.seq_len }, () => Math.floor(next() * config.vocab_size));
  const puzzleIdentifiers = Int32Array.from({ length: batch }, () => Math.floor(next() * config.num_puzzle_identifiers));
  return { inputs, puzzleIdentifiers };
}

function agreement(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) same += a[i] === b[i] ? 1 : 0;
  return same / a.length;
}

function errors(got: InferResult, ref: InferResult): Record<string, number> {
  const out: Record<string, number> = { logits: relativeError(got.logits, ref.logits), qHalt: relativeError(got.qHalt, ref.qHalt), qContinue: relativeError(got.qContinue, ref.qContinue) };
  if (got.carry && ref.carry) {
    out.zH = relativeError(got.carry.zH, ref.carry.zH);
    out.zL = relativeError(got.carry.zL, ref.carry.zL);
  }
  return out;
}

function show(e: Record<string, number>): string {
  return Object.entries(e).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');
}

describe.skipIf(!HAS_GPU).each(CASES)('cuda vs cpu: $name', ({ name, config, batch }) => {
  // qHeadStd: halting varies between samples, so adaptive runs exercise compaction.
  const weights: WeightMap = randomWeights(config, { seed: 7, qHeadStd: 0.5, puzzleEmbStd: 0.5 });
  const input = inputsFor(config, batch, 11);
  const models: TrmModel[] = [];
  const make = (device: 'cpu' | 'cuda', precision: 'fp32' | 'bf16') => {
    const m = createModel(config, weights, device === 'cpu' ? { device, precision, threads: CPU_THREADS } : { device, precision });
    models.push(m);
    return m;
  };
  const cpu32 = HAS_GPU ? make('cpu', 'fp32') : undefined;
  const gpu32 = HAS_GPU ? make('cuda', 'fp32') : undefined;
  afterAll(() => models.forEach((m) => m.dispose()));

  // The yardstick for whole answers: the CPU operator on another kernel table, which differs
  // from the default table only in summation order.
  const otherIsa = (): string | undefined => {
    const isas = supportedIsas();
    const own = cpu32!.info.isa;
    return isas.find((i) => i !== own && i !== 'scalar') ?? isas.find((i) => i !== own);
  };
  const cpuDrift = (base: TrmModel, precision: 'fp32' | 'bf16', options: InferOptions) => {
    const isa = otherIsa();
    const a = base.inferSync(input, options);
    if (isa === undefined) return { logits: 0, agreement: 1, sameSteps: 1, isa: 'none' };
    const other = createModel(config, weights, { precision, threads: CPU_THREADS, isa: isa as 'avx2' });
    models.push(other);
    const b = other.inferSync(input, options);
    return { logits: relativeError(a.logits, b.logits), agreement: agreement(a.predictions, b.predictions), sameSteps: agreement(a.steps, b.steps), isa };
  };
  const wholeAnswerBound = (drift: number, floor: number) => Math.max(floor, WHOLE_ANSWER_MARGIN * drift);

  it('reports its device', () => {
    expect(gpu32!.info.device).toBe('cuda');
    expect(gpu32!.info.isa).toMatch(/^cuda:/);
    console.log(`${name}: ${gpu32!.info.isa}`);
  });

  it(`fp32 one step within ${FP32_ONE_STEP} of the CPU`, async () => {
    const ref = cpu32!.inferSync(input, { maxSteps: 1, returnCarry: true });
    const got = await gpu32!.infer(input, { maxSteps: 1, returnCarry: true });
    const e = errors(got, ref);
    console.log(`${name} fp32 one step: ${show(e)}; predictions ${(agreement(got.predictions, ref.predictions) * 100).toFixed(2)}%`);
    for (const v of Object.values(e)) expect(v).toBeLessThan(FP32_ONE_STEP);
    expect(Array.from(got.steps)).toEqual(Array.from(ref.steps));
  });

  it('fp32 whole answer: within the CPU tables\' own drift (times the margin)', () => {
    const ref = cpu32!.inferSync(input, { returnCarry: true });
    const got = gpu32!.inferSync(input, { returnCarry: true });
    const e = errors(got, ref);
    const drift = cpuDrift(cpu32!, 'fp32', {});
    const bound = wholeAnswerBound(drift.logits, FP32_ONE_STEP);
    const same = agreement(got.predictions, ref.predictions);
    console.log(`${name} fp32 ${config.halt_max_steps} steps: ${show(e)}; predictions ${(same * 100).toFixed(2)}%; ` +
      `cpu ${cpu32!.info.isa} vs ${drift.isa}: logits ${drift.logits.toExponential(2)}, predictions ${(drift.agreement * 100).toFixed(2)}%; bound ${bound.toExponential(2)}`);
    expect(e.logits).toBeLessThan(bound);
    expect(same).toBeGreaterThanOrEqual(drift.agreement - 0.05);
    expect(Array.from(got.steps)).toEqual(Array.from(ref.steps));
  });

  it('is deterministic: the same call twice gives the same bits', () => {
    const a = gpu32!.inferSync(input, { maxSteps: 2 });
    const b = gpu32!.inferSync(input, { maxSteps: 2 });
    expect(Buffer.from(a.logits.buffer).equals(Buffer.from(b.logits.buffer))).toBe(true);
  });

  it('adaptive halting and the trace follow the CPU', () => {
    const options = { maxSteps: config.halt_max_steps, minSteps: 1, haltThreshold: 0.5, trace: 'logits' as const };
    const ref = cpu32!.inferSync(input, options);
    const got = gpu32!.inferSync(input, options);
    const sameSteps = agreement(got.steps, ref.steps);
    console.log(`${name} adaptive: steps cpu [${Array.from(ref.steps).slice(0, 8)}] cuda [${Array.from(got.steps).slice(0, 8)}], same for ${(sameSteps * 100).toFixed(1)}%`);
    const passes = config.H_cycles * (config.L_cycles + 1) * config.halt_max_steps;
    if (passes <= 64) {
      expect(sameSteps).toBeGreaterThanOrEqual(0.9);
    } else {
      // Long enough to drift: as often as two CPU tables agree with each other, less one sample.
      const drift = cpuDrift(cpu32!, 'fp32', { maxSteps: options.maxSteps, minSteps: options.minSteps, haltThreshold: options.haltThreshold });
      console.log(`${name} adaptive: cpu ${cpu32!.info.isa} vs ${drift.isa} same steps for ${(drift.sameSteps * 100).toFixed(1)}%`);
      expect(sameSteps).toBeGreaterThanOrEqual(drift.sameSteps - 1 / batch - 1e-9);
    }
    expect(got.trace!.length).toBe(Math.max(...got.steps));
    const seqVocab = config.seq_len * config.vocab_size;
    got.trace!.forEach((record, i) => {
      expect(record.step).toBe(i + 1);
      for (let b = 0; b < batch; b++) {
        expect(record.halted[b]).toBe(got.steps[b] <= i + 1 ? 1 : 0);
        if (got.steps[b] < i + 1) expect(record.changed[b]).toBe(0);
      }
      expect(record.logits!.length).toBe(batch * seqVocab);
    });
    // The last record holds every sample's final logits.
    const last = got.trace![got.trace!.length - 1];
    expect(relativeError(last.logits!, got.logits)).toBe(0);
    // Step 1 has not drifted: its record matches the CPU's.
    expect(relativeError(got.trace![0].qHalt, ref.trace![0].qHalt)).toBeLessThan(FP32_ONE_STEP);
    expect(relativeError(got.trace![0].confidence, ref.trace![0].confidence)).toBeLessThan(FP32_ONE_STEP);
    expect(agreement(got.trace![0].changed, ref.trace![0].changed)).toBeGreaterThanOrEqual(0.9);
  });

  it('the other stopping rules and a depth override follow the CPU (same steps and rules per sample)', () => {
    const maxSteps = config.halt_max_steps;
    const fixed = cpu32!.inferSync(input, { maxSteps, trace: true });
    const confidence = pickThreshold(fixed.trace!.map((rec) => Array.from(rec.confidence)), batch);
    const passes = config.H_cycles * (config.L_cycles + 1) * maxSteps;
    const runs = [
      { confidenceThreshold: confidence.threshold, maxSteps },
      { stableSteps: 1, maxSteps },
      { haltThreshold: 0.5, confidenceThreshold: confidence.threshold, stableSteps: 2, minSteps: 2, maxSteps },
      { haltThreshold: 0.5, hCycles: 1, lCycles: config.L_cycles + 1, maxSteps },
    ];
    for (const options of runs) {
      const ref = cpu32!.inferSync(input, { ...options, trace: true });
      const got = gpu32!.inferSync(input, { ...options, trace: true });
      const same = got.stoppedBy.filter((r, b) => r === ref.stoppedBy[b] && got.steps[b] === ref.steps[b]).length / batch;
      console.log(`${name} ${JSON.stringify(options)}: same step and rule for ${(same * 100).toFixed(1)}% (confidence margin ${confidence.margin.toExponential(1)})`);
      if (passes <= 64 && confidence.margin > MIN_STOP_MARGIN) expect(same).toBeGreaterThanOrEqual(0.9);
      got.trace!.forEach((rec) => {
        for (let b = 0; b < batch; b++) expect(rec.stoppedBy[b]).toBe(rec.step >= got.steps[b] ? got.stoppedBy[b] : null);
      });
    }
  });

  it('resuming from a returned carry equals running on', () => {
    const straight = gpu32!.inferSync(input, { maxSteps: 3 });
    const first = gpu32!.inferSync(input, { maxSteps: 2, returnCarry: true });
    const resumed = gpu32!.inferSync({ ...input, carry: first.carry }, { maxSteps: 1 });
    expect(relativeError(resumed.logits, straight.logits)).toBeLessThan(1e-6);
  });

  it(`bf16 one step within ${BF16_ONE_STEP} of CPU bf16; whole answer within the CPU tables' own drift`, () => {
    const cpu16 = make('cpu', 'bf16');
    const gpu16 = make('cuda', 'bf16');
    expect(gpu16.info).toMatchObject({ precision: 'bf16', bf16Compute: 'mma.sync bf16', device: 'cuda' });
    const e1 = errors(gpu16.inferSync(input, { maxSteps: 1, returnCarry: true }), cpu16.inferSync(input, { maxSteps: 1, returnCarry: true }));
    const ref = cpu16.inferSync(input);
    const got = gpu16.inferSync(input);
    const fp32 = cpu32!.inferSync(input);
    const whole = relativeError(got.logits, ref.logits);
    const same = agreement(got.predictions, ref.predictions);
    const drift = cpuDrift(cpu16, 'bf16', {});
    const bound = wholeAnswerBound(drift.logits, BF16_ONE_STEP);
    console.log(`${name} bf16 one step vs cpu bf16: ${show(e1)}; whole answer: logits ${whole.toExponential(2)}, `
      + `predictions vs cpu bf16 ${(same * 100).toFixed(2)}%, vs fp32 ${(agreement(got.predictions, fp32.predictions) * 100).toFixed(2)}%; `
      + `cpu bf16 ${cpu16.info.isa} vs ${drift.isa}: logits ${drift.logits.toExponential(2)}; bound ${bound.toExponential(2)}`);
    for (const v of Object.values(e1)) expect(v).toBeLessThan(BF16_ONE_STEP);
    expect(whole).toBeLessThan(bound);
    expect(same).toBeGreaterThanOrEqual(drift.agreement - 0.05);
  });
});

const goldenPresent = GOLDEN_NAMES.filter((n) => fs.existsSync(goldenDir(n)));

describe.skipIf(!HAS_GPU || goldenPresent.length === 0).each(goldenPresent)('cuda on golden %s', (name) => {
  it(`fp32, one step from the golden carry, within ${FP32_ONE_STEP} of the official logits`, () => {
    const golden = loadGolden(name);
    const { config, weights } = readModelDirectory(golden.dir);
    const model = createModel(config, weights, { device: 'cuda' });
    const r = model.inferSync({ inputs: golden.inputs, puzzleIdentifiers: golden.puzzleIdentifiers, carry: { zH: golden.zH[0], zL: golden.zL[0] } }, { maxSteps: 1, returnCarry: true });
    model.dispose();
    const e = { logits: relativeError(r.logits, golden.logits[0]), qHalt: relativeError(r.qHalt, golden.qHalt[0]), zH: relativeError(r.carry!.zH, golden.zH[1]) };
    console.log(`golden ${name} cuda fp32 step 1: ${show(e)}`);
    for (const v of Object.values(e)) expect(v).toBeLessThan(FP32_ONE_STEP);
  });
});
