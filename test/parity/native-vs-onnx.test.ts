/**
 * The onnx backend against the native one on a generated matrix of configurations the
 * golden data lacks: attention / mlp_t, rope / learned / none, puzzle prefix on / off
 * (derived and explicit, zero-padded length), 1 to 3 layers, odd sizes, batch 1, 3 and 8.
 * Random weights with a random q_head (qHeadStd), so halting varies between samples.
 *
 * Two checks per case:
 * - one step from the same random carry: every output within ONE_STEP_TOLERANCE (norm-wise
 *   relative), the bound both backends are held to against the official code;
 * - a whole adaptive run: the same steps per sample and the same predictions, logits within
 *   WHOLE_RUN_TOLERANCE. The threshold sits in the widest gap between the halt probabilities
 *   of a fixed-step run, so float32 rounding cannot move a sample across it, and splits the
 *   batch at step 2 so samples halt at different steps.
 * - the other stopping rules (confidence, stable predictions) alone and combined with halting:
 *   the same stopping step and rule per sample, the confidence threshold chosen likewise.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, createOnnxModel } from '../../lib';
import { modelDimensions, type TrmConfig } from '../../lib/model/config';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { SeededRandom } from '../../lib/util/seeded-random';
import { maxAbsError, relativeError } from '../helpers/golden';
import { MIN_STOP_MARGIN, pickThreshold } from '../helpers/stopping';

const ONE_STEP_TOLERANCE = 1e-4;
// Several steps of a chaotic recursion on random weights amplify float32 rounding (the
// measured worst is printed); halting and argmax are checked exactly, with margins.
const WHOLE_RUN_TOLERANCE = 1e-3;

interface Case {
  name: string;
  config: Partial<TrmConfig>;
  batch: number;
}

const CASES: Case[] = [
  { name: 'att rope 1L', config: { seq_len: 7, vocab_size: 5, hidden_size: 20, num_heads: 2, L_layers: 1 }, batch: 1 },
  { name: 'att rope puzzle 2L', config: { seq_len: 9, vocab_size: 11, hidden_size: 24, num_heads: 2, L_layers: 2, puzzle_emb_ndim: 24, puzzle_emb_len: 1, num_puzzle_identifiers: 7 }, batch: 8 },
  { name: 'att rope puzzle-ndim 3L', config: { seq_len: 5, vocab_size: 9, hidden_size: 12, num_heads: 3, L_layers: 3, puzzle_emb_ndim: 20, puzzle_emb_len: 0, num_puzzle_identifiers: 3, H_cycles: 1 }, batch: 3 },
  { name: 'att learned 1L', config: { seq_len: 11, vocab_size: 7, hidden_size: 15, num_heads: 3, L_layers: 1, pos_encodings: 'learned' }, batch: 8 },
  { name: 'att learned puzzle 2L', config: { seq_len: 6, vocab_size: 13, hidden_size: 18, num_heads: 2, L_layers: 2, pos_encodings: 'learned', puzzle_emb_ndim: 18, puzzle_emb_len: 3, num_puzzle_identifiers: 4 }, batch: 3 },
  { name: 'att none 3L', config: { seq_len: 13, vocab_size: 3, hidden_size: 21, num_heads: 7, L_layers: 3, pos_encodings: 'none', L_cycles: 1 }, batch: 3 },
  { name: 'att none puzzle 1L', config: { seq_len: 4, vocab_size: 6, hidden_size: 16, num_heads: 4, L_layers: 1, pos_encodings: 'none', puzzle_emb_ndim: 16, puzzle_emb_len: 2, num_puzzle_identifiers: 5 }, batch: 8 },
  { name: 'mlp_t rope 2L', config: { seq_len: 9, vocab_size: 10, hidden_size: 18, num_heads: 1, L_layers: 2, mlp_t: true }, batch: 3 },
  { name: 'mlp_t none puzzle 1L', config: { seq_len: 9, vocab_size: 10, hidden_size: 24, num_heads: 2, L_layers: 1, mlp_t: true, pos_encodings: 'none', puzzle_emb_ndim: 24, puzzle_emb_len: 2, num_puzzle_identifiers: 3 }, batch: 8 },
  { name: 'mlp_t learned 3L', config: { seq_len: 7, vocab_size: 4, hidden_size: 19, num_heads: 1, L_layers: 3, mlp_t: true, pos_encodings: 'learned', H_cycles: 1 }, batch: 1 },
  { name: 'mlp_t learned puzzle-ndim 2L', config: { seq_len: 8, vocab_size: 9, hidden_size: 14, num_heads: 2, L_layers: 2, mlp_t: true, pos_encodings: 'learned', puzzle_emb_ndim: 30, puzzle_emb_len: 0, num_puzzle_identifiers: 6 }, batch: 8 },
  { name: 'att rope big-ish 2L', config: { seq_len: 17, vocab_size: 12, hidden_size: 36, num_heads: 3, L_layers: 2, expansion: 3, puzzle_emb_ndim: 36, puzzle_emb_len: 1, num_puzzle_identifiers: 2 }, batch: 3 },
];

const rows: string[] = [];
const stoppingRows: string[] = [];
let variedHalting = 0;
let variedStopping = 0;

afterAll(() => {
  console.log([
    'native vs onnx: one step (norm-wise rel, bound 1e-4) | whole adaptive run (bound 1e-3)',
    'case                          B  step: logits   qHalt     zH        zL       | run: steps       logits rel  logits abs  margin',
    ...rows,
  ].join('\n'));
  console.log(['native vs onnx: stopping rules (steps per sample; rule: h halt, c confidence, s stable, m maxSteps)',
    'case                          B  confidence          stable 1            all rules           margin', ...stoppingRows].join('\n'));
  // Most batched cases must really halt samples at different steps, or the run check is weak.
  expect(variedHalting).toBeGreaterThanOrEqual(6);
  // Likewise the combined rules must stop samples by different rules.
  expect(variedStopping).toBeGreaterThanOrEqual(4);
});

describe.each(CASES)('native vs onnx: $name, batch $batch', ({ name, config: overrides, batch: B }) => {
  /** The case's random model on both backends, and its random batch (rng left for more draws). */
  async function setup() {
    const config = randomConfig({ halt_max_steps: 5, ...overrides });
    const weights = randomWeights(config, { seed: 1234, qHeadStd: 1 / Math.sqrt(config.hidden_size), puzzleEmbStd: 0.5 });
    const native = createModel(config, weights, { threads: 2 });
    const onnx = await createOnnxModel(config, weights, { threads: 2 });
    const rng = new SeededRandom(99, name);
    const inputs = Int32Array.from({ length: B * config.seq_len }, () => rng.nextU32() % config.vocab_size);
    const puzzleIdentifiers = Int32Array.from({ length: B }, () => rng.nextU32() % config.num_puzzle_identifiers);
    return { config, native, onnx, rng, inputs, puzzleIdentifiers };
  }

  it('one step from the same carry, and a whole adaptive run', async () => {
    const { config, native, onnx, rng, inputs, puzzleIdentifiers } = await setup();
    const dims = modelDimensions(config);
    const carrySize = B * dims.totalLen * config.hidden_size;
    const carry = { zH: Float32Array.from({ length: carrySize }, () => rng.normal()), zL: Float32Array.from({ length: carrySize }, () => rng.normal()) };

    // One step from the same random carry.
    const a = native.inferSync({ inputs, puzzleIdentifiers, carry }, { maxSteps: 1, returnCarry: true });
    const b = await onnx.infer({ inputs, puzzleIdentifiers, carry }, { maxSteps: 1, returnCarry: true });
    const one = {
      logits: relativeError(b.logits, a.logits),
      qHalt: relativeError(b.qHalt, a.qHalt),
      qContinue: relativeError(b.qContinue, a.qContinue),
      zH: relativeError(b.carry!.zH, a.carry!.zH),
      zL: relativeError(b.carry!.zL, a.carry!.zL),
    };

    // A whole adaptive run, the threshold from the native fixed-step trace.
    const maxSteps = config.halt_max_steps;
    const fixed = native.inferSync({ inputs, puzzleIdentifiers }, { maxSteps, trace: true });
    const probabilities = fixed.trace!.map((rec) => Array.from(rec.haltProbability));
    const { threshold, margin } = pickThreshold(probabilities, B);
    const options = { haltThreshold: threshold, maxSteps, trace: 'logits' as const, returnCarry: true };
    const ra = native.inferSync({ inputs, puzzleIdentifiers }, options);
    const rb = await onnx.infer({ inputs, puzzleIdentifiers }, options);
    const runLogitsRel = relativeError(rb.logits, ra.logits);
    const runLogitsAbs = maxAbsError(rb.logits, ra.logits);
    if (new Set(ra.steps).size > 1) variedHalting++;

    rows.push(`${name.padEnd(30)}${String(B).padEnd(3)}      ${[one.logits, one.qHalt, one.zH, one.zL].map((v) => v.toExponential(2).padEnd(10)).join('')}| ` +
      `${Array.from(ra.steps).join('').padEnd(15)} ${runLogitsRel.toExponential(2).padEnd(12)}${runLogitsAbs.toExponential(2).padEnd(12)}${margin.toExponential(1)}`);

    for (const v of Object.values(one)) expect(v).toBeLessThan(ONE_STEP_TOLERANCE);
    expect(margin).toBeGreaterThan(MIN_STOP_MARGIN);
    expect(Array.from(rb.steps)).toEqual(Array.from(ra.steps));
    expect(Array.from(rb.predictions)).toEqual(Array.from(ra.predictions));
    expect(runLogitsRel).toBeLessThan(WHOLE_RUN_TOLERANCE);
    expect(relativeError(rb.qHalt, ra.qHalt)).toBeLessThan(WHOLE_RUN_TOLERANCE);
    // The trace has the same shape and the same halting and change counts.
    expect(rb.trace!.length).toBe(ra.trace!.length);
    ra.trace!.forEach((rec, i) => {
      expect(Array.from(rb.trace![i].halted)).toEqual(Array.from(rec.halted));
      expect(Array.from(rb.trace![i].changed)).toEqual(Array.from(rec.changed));
      expect(relativeError(rb.trace![i].logits!, rec.logits!)).toBeLessThan(WHOLE_RUN_TOLERANCE);
    });
    expect(relativeError(rb.carry!.zH, ra.carry!.zH)).toBeLessThan(WHOLE_RUN_TOLERANCE);
    native.dispose();
    onnx.dispose();
  });

  it('the other stopping rules, alone and combined: the same stopping step and rule per sample', async () => {
    const { config, native, onnx, inputs, puzzleIdentifiers } = await setup();
    // As many steps as the run check above: more steps of a chaotic recursion on random
    // weights let float32 rounding flip argmaxes between the backends.
    const maxSteps = config.halt_max_steps;
    const fixed = native.inferSync({ inputs, puzzleIdentifiers }, { maxSteps, trace: true });
    const conf = pickThreshold(fixed.trace!.map((rec) => Array.from(rec.confidence)), B);
    const halt = pickThreshold(fixed.trace!.map((rec) => Array.from(rec.haltProbability)), B);
    const runs = [
      { confidenceThreshold: conf.threshold, maxSteps },
      { stableSteps: 1, maxSteps },
      { haltThreshold: halt.threshold, confidenceThreshold: conf.threshold, stableSteps: 1, minSteps: 2, maxSteps },
    ];
    const cells: string[] = [];
    for (const options of runs) {
      const ra = native.inferSync({ inputs, puzzleIdentifiers }, { ...options, trace: true });
      const rb = await onnx.infer({ inputs, puzzleIdentifiers }, { ...options, trace: true });
      cells.push(`${Array.from(ra.steps).join('')}/${ra.stoppedBy.map((r) => r[0]).join('')}`.padEnd(20));
      expect(Array.from(rb.steps)).toEqual(Array.from(ra.steps));
      expect(rb.stoppedBy).toEqual(ra.stoppedBy);
      expect(Array.from(rb.predictions)).toEqual(Array.from(ra.predictions));
      ra.trace!.forEach((rec, i) => expect(rb.trace![i].stoppedBy).toEqual(rec.stoppedBy));
      if (options.stableSteps !== undefined && options.haltThreshold !== undefined && new Set(ra.stoppedBy).size > 1) variedStopping++;
    }
    stoppingRows.push(`${name.padEnd(30)}${String(B).padEnd(3)}${cells.join('')}${Math.min(conf.margin, halt.margin).toExponential(1)}`);
    expect(conf.margin).toBeGreaterThan(MIN_STOP_MARGIN);
    expect(halt.margin).toBeGreaterThan(MIN_STOP_MARGIN);
    native.dispose();
    onnx.dispose();
  });
});
