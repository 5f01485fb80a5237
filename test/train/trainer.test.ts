/**
 * The trainer on a tiny 4x4 Sudoku model (a few seconds): the loss goes down, two runs with
 * one seed give bit-identical weights, a checkpoint loads with loadModel and answers exactly
 * as the trainer's EMA weights do, a resumed run is bit-identical to an uninterrupted one,
 * run() applies the evaluation cadence, checkpoints and time limit, and the recipe's pieces
 * (schedule, EMA, optimizers) do what the official code does. Every test stands alone: the
 * 30-step reference run is made once in beforeAll and only read by the tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, getTask, loadModel, OptionError, parseConfig } from '../../lib';
import { loadCheckpoint, saveCheckpoint, type TrainingDataSource } from '../../lib/train/checkpoint';
import { buildTrainingData } from '../../lib/train/data';
import { WeightAverage } from '../../lib/train/ema';
import { AdamW, signSgdRows } from '../../lib/train/optimizer';
import { resolveRecipe } from '../../lib/train/recipe';
import { learningRateAt } from '../../lib/train/schedule';
import { TrainingStream } from '../../lib/train/sampler';
import { Trainer, type TrainerOptions } from '../../lib/train/trainer';
import type { WeightMap } from '../../lib/model/weights';

const task = getTask('sudoku4');
const config = parseConfig({
  ...task.suggestedConfig(), hidden_size: 32, num_heads: 1, H_cycles: 2, L_cycles: 2, L_layers: 1, halt_max_steps: 4,
  train_data: { seed: 3, count: 400, options: {} },
});
const source: TrainingDataSource = { kind: 'task', task: 'sudoku4', seed: 3, count: 400, options: {}, augment: true };
const data = buildTrainingData(source, config);
const recipe = { steps: 30, batch: 16, lr: 3e-3, warmupSteps: 5, emaRate: 0.9, seed: 3 };
const options = (overrides: Partial<TrainerOptions> = {}): TrainerOptions => ({
  config, train: data.examples, augment: data.augment, recipe, threads: 2, ...overrides,
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(trainer: Trainer, steps: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push((await trainer.trainStep()).loss);
  return losses;
}

function expectBitIdentical(a: WeightMap, b: WeightMap): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const name of Object.keys(a)) {
    const differing = a[name].findIndex((v, i) => !Object.is(v, b[name][i]));
    expect(differing, `${name} differs at ${differing}`).toBe(-1);
  }
}

describe('Trainer on a tiny sudoku4 model', () => {
  // The reference run: 30 steps, read (never stepped or disposed) by the tests below.
  let finished: Trainer;
  let losses: number[];
  beforeAll(async () => {
    finished = new Trainer(options());
    losses = await run(finished, 30);
  });
  afterAll(() => finished.dispose());

  it('lowers the loss over 30 steps', () => {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    console.log(`loss: first 5 steps ${first.toFixed(4)}, last 5 ${last.toFixed(4)}`);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(last).toBeLessThan(first * 0.9);
  });

  it('gives bit-identical weights for the same seed and threads', async () => {
    const again = new Trainer(options());
    const againLosses = await run(again, 30);
    expect(againLosses).toEqual(losses);
    expectBitIdentical(again.state().weights, finished.state().weights);
    expectBitIdentical(again.modelWeights(), finished.modelWeights());
    again.dispose();
  });

  it('writes a checkpoint that loadModel reads and that answers as the EMA weights do', async () => {
    const dir = path.join(tmp, 'checkpoint');
    saveCheckpoint(dir, finished, source);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(saved.task).toBe('sudoku4');
    expect(saved.train_data).toEqual({ seed: 3, count: 400, options: {} });
    expect(saved.training).toMatchObject({ steps: 30, batch: 16, lr: 3e-3, seed: 3 });
    expect(saved.training.elapsed_seconds).toBeGreaterThan(0);

    const loaded = await loadModel(dir, { threads: 2 });
    const reference = createModel(finished.config, finished.modelWeights(), { threads: 2 });
    const inputs = task.generate(8, 1_000_000_001).map((e) => e.inputs);
    const a = await loaded.infer({ inputs }, { haltThreshold: 0.5 });
    const b = await reference.infer({ inputs }, { haltThreshold: 0.5 });
    expect(Array.from(a.logits)).toEqual(Array.from(b.logits));
    expect(Array.from(a.steps)).toEqual(Array.from(b.steps));
    loaded.dispose();
    reference.dispose();
  });

  it('resumes bit-identically to an uninterrupted run', async () => {
    const dir = path.join(tmp, 'resume');
    const first = new Trainer(options());
    await run(first, 12);
    saveCheckpoint(dir, first, source);
    first.dispose();

    const saved = loadCheckpoint(dir);
    expect(saved.state.step).toBe(12);
    expect(saved.recipe).toEqual(resolveRecipe(recipe));
    const rebuilt = buildTrainingData(saved.data, saved.config);
    const resumed = new Trainer({ config: saved.config, train: rebuilt.examples, augment: rebuilt.augment, recipe: saved.recipe, weights: saved.state.weights, threads: saved.threads });
    resumed.restore(saved.state);
    const rest = await run(resumed, 18);
    expect(rest).toEqual(losses.slice(12));
    expect(resumed.examplesDrawn).toBe(finished.examplesDrawn);
    expectBitIdentical(resumed.state().weights, finished.state().weights);
    expectBitIdentical(resumed.modelWeights(), finished.modelWeights());
    const a = finished.state(), b = resumed.state();
    expectBitIdentical(b.firstMoments, a.firstMoments);
    expectBitIdentical(b.secondMoments, a.secondMoments);
    expect(Array.from(b.slots.zH)).toEqual(Array.from(a.slots.zH));
    resumed.dispose();
  });

  it('evaluates the EMA weights with fixed steps and adaptive halting', async () => {
    const held = task.generate(20, 1_000_000_000);
    const report = await finished.evaluate(held);
    expect(report.fixed.count).toBe(20);
    expect(report.fixed.meanSteps).toBe(config.halt_max_steps);
    expect(report.adaptive.haltThreshold).toBe(0.5);
    expect(report.step).toBe(30);
  });

  it('run() steps as trainStep does, evaluating and checkpointing every evalEvery steps and at the end', async () => {
    const trainer = new Trainer(options());
    const seen: number[] = [];
    const checkpoints: Array<{ step: number; reportStep?: number; count?: number }> = [];
    const held = task.generate(5, 1_000_000_000);
    const result = await trainer.run({
      until: 10, evalEvery: 4, evalExamples: held,
      onStep: (r) => seen.push(r.loss),
      onCheckpoint: (report) => { checkpoints.push({ step: trainer.step, reportStep: report?.step, count: report?.fixed.count }); },
    });
    expect(result).toEqual({ step: 10, stoppedBy: 'until' });
    expect(seen).toEqual(losses.slice(0, 10));
    expect(checkpoints).toEqual([4, 8, 10].map((step) => ({ step, reportStep: step, count: 5 })));
    trainer.dispose();
  });

  it('run() with a time limit stops at a checkpoint it forces, and a second run continues exactly', async () => {
    const trainer = new Trainer(options());
    const checkpoints: number[] = [];
    // Far less time than 30 steps take, so the limit (not `until`) ends the first call.
    const first = await trainer.run({ until: 30, evalEvery: 1000, timeLimit: 1e-6, onCheckpoint: () => { checkpoints.push(trainer.step); } });
    expect(first.stoppedBy).toBe('timeLimit');
    expect(first.step).toBeLessThan(30);
    expect(checkpoints).toEqual([first.step]);
    const seen: number[] = [];
    const second = await trainer.run({ until: 30, onStep: (r) => seen.push(r.loss) });
    expect(second).toEqual({ step: 30, stoppedBy: 'until' });
    expect(seen).toEqual(losses.slice(first.step));
    expectBitIdentical(trainer.state().weights, finished.state().weights);
    trainer.dispose();
  });
});

describe('recipe pieces', () => {
  it('schedule: linear warmup from step 1, then constant or cosine down to lr * minRatio', () => {
    const s = { lr: 1, warmupSteps: 10, totalSteps: 110, minRatio: 1 };
    expect(learningRateAt(1, s)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(10, s)).toBe(1);
    expect(learningRateAt(100, s)).toBe(1);
    const cosine = { ...s, minRatio: 0.1 };
    expect(learningRateAt(60, cosine)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(learningRateAt(110, cosine)).toBeCloseTo(0.1, 12);
  });

  it('EMA: rate * average + (1 - rate) * weight, from the initial weights', () => {
    const w = new Float32Array([1, 2]);
    const ema = new WeightAverage(0.5, new Map([['w', w]]));
    w.set([3, 6]);
    ema.update(new Map([['w', w]]));
    expect(Array.from(ema.averages.get('w')!)).toEqual([2, 4]);
  });

  it('AdamW: the first update moves each weight by lr against its gradient sign, after decoupled decay', () => {
    const adam = new AdamW({ beta1: 0.9, beta2: 0.95, weightDecay: 0.5, epsilon: 0 }, new Map([['w', 3]]));
    const w = new Float32Array([1, -1, 2]);
    adam.step(new Map([['w', w]]), new Map([['w', new Float32Array([4, -2, 0.5])]]), 0.1, 0.5);
    // Bias-corrected m / sqrt(v) is sign(g) on the first step.
    expect(w[0]).toBeCloseTo(1 * (1 - 0.05) - 0.1, 6);
    expect(w[1]).toBeCloseTo(-1 * (1 - 0.05) + 0.1, 6);
    expect(w[2]).toBeCloseTo(2 * (1 - 0.05) - 0.1, 6);
  });

  it('sign-SGD touches only the rows used', () => {
    const table = new Float32Array([1, 1, 2, 2, 3, 3]);
    signSgdRows(table, 2, Int32Array.from([2]), new Float32Array([0.3, -7]), 0.1, 1);
    expect(Array.from(table)).toEqual([1, 1, 2, 2, Math.fround(3 * 0.9 - 0.1), Math.fround(3 * 0.9 + 0.1)]);
  });

  it('the training stream is a pure function of its position', () => {
    const a = new TrainingStream(data.examples, 5, data.augment);
    const drawn = Array.from({ length: 900 }, () => a.next());
    const b = new TrainingStream(data.examples, 5, data.augment, 850);
    for (let i = 850; i < 900; i++) expect(Array.from(b.next().inputs)).toEqual(Array.from(drawn[i].inputs));
    expect(a.epoch).toBe(2);
  });
});

describe('bad options', () => {
  it('the recipe: out of range, unknown keys, held-out seeds', () => {
    expect(() => resolveRecipe({ lr: -1 })).toThrow(OptionError);
    expect(() => resolveRecipe({ batch: 1.5 })).toThrow(OptionError);
    expect(() => resolveRecipe({ learningRate: 1 } as never)).toThrow(/unknown training option/);
    expect(() => resolveRecipe({ seed: 1_000_000_000 })).toThrow(/held-out/);
  });

  it('the trainer: no examples, not an object', () => {
    expect(() => new Trainer(options({ train: [] }))).toThrow(OptionError);
    expect(() => new Trainer(null as never)).toThrow(OptionError);
  });

  it('run(): until, evalEvery and timeLimit out of range, each named', async () => {
    const trainer = new Trainer(options());
    for (const [bad, field] of [[{ until: 0 }, 'until'], [{ evalEvery: 1.5 }, 'evalEvery'], [{ timeLimit: -1 }, 'timeLimit']] as const) {
      const e = await trainer.run(bad).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OptionError);
      expect((e as OptionError).field).toBe(field);
    }
    expect(trainer.step).toBe(0);
    trainer.dispose();
  });

  it('a missing checkpoint', () => {
    expect(() => loadCheckpoint(path.join(tmp, 'nothing-here'))).toThrow(/no training state/);
  });
});
