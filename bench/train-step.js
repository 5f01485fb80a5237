#!/usr/bin/env node
// How long one training ACT step (forward of every H cycle + backward of the last, the
// official training step) takes in the native gradient engine, next to one inference ACT
// step of the same model measured in the same run. Sudoku-shaped models: 81 cells + 16
// puzzle-prefix positions, vocab 11, H_cycles 3, L_cycles 6, 2 layers, mlp_t and attention,
// at hidden 512 (the official Sudoku size, ~5M parameters) and hidden 256.
// The engine's forward is checked against inference before anything is timed.
//   node bench/train-step.js [--threads N] [--isa NAME] [--batch B] [--runs R]
'use strict';
const os = require('node:os');
const { createModel, parseConfig, randomWeights, supportedIsas, GradientEngine } = require('../dist');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const threads = Number(flag('threads', 2));
const isa = flag('isa', supportedIsas()[0]);
const batch = Number(flag('batch', 8));
const runs = Number(flag('runs', 5));

function sudokuConfig(hidden, mlpT) {
  return parseConfig({
    seq_len: 81, vocab_size: 11, hidden_size: hidden, num_heads: hidden / 64, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
    halt_max_steps: 16, pos_encodings: mlpT ? 'none' : 'rope', mlp_t: mlpT, puzzle_emb_ndim: hidden, puzzle_emb_len: 16,
    num_puzzle_identifiers: 1,
  });
}

function relative(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

function median(fn) {
  fn();  // warm-up (the engine allocates its tape on the first step)
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const rows = [];
for (const hidden of [256, 512]) {
  for (const mlpT of [true, false]) {
    const config = sudokuConfig(hidden, mlpT);
    const weights = randomWeights(config, { seed: 1, qHeadStd: 0.05, puzzleEmbStd: 0.05 });
    const params = Object.entries(weights).filter(([n]) => !/H_init|L_init|puzzle_emb/.test(n)).reduce((s, [, w]) => s + w.length, 0);
    const model = createModel(config, weights, { threads, isa });
    const engine = GradientEngine.create(config, weights, { threads, isa });
    const inputs = Int32Array.from({ length: batch * 81 }, (_, i) => (i * 7) % 11);
    const labels = Int32Array.from({ length: batch * 81 }, (_, i) => (i * 5 + 1) % 11);
    const inferred = model.inferSync({ inputs }, { maxSteps: 1, returnCarry: true });
    const trained = engine.stepSync({ inputs, labels });
    const err = relative(trained.carry.zH, inferred.carry.zH);
    if (!(err < 1e-4) || !Number.isFinite(trained.loss)) throw new Error(`engine forward disagrees with inference: ${err}, loss ${trained.loss}`);
    const inferMs = median(() => model.inferSync({ inputs }, { maxSteps: 1 }));
    const trainMs = median(() => engine.stepSync({ inputs, labels }));
    rows.push({
      variant: mlpT ? 'mlp_t' : 'attention', hidden, params: `${(params / 1e6).toFixed(2)}M`, batch,
      inferStepMs: inferMs.toFixed(0), trainStepMs: trainMs.toFixed(0), ratio: (trainMs / inferMs).toFixed(2),
      tapeMiB: (engine.tapeBytes / 2 ** 20).toFixed(0),
    });
    engine.dispose();
    model.dispose();
  }
}
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; isa ${isa}, threads ${threads}, median of ${runs}`);
console.table(rows);
