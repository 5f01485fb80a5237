#!/usr/bin/env node
// How long one ACT step of a Sudoku-size TRM takes in the native operator: hidden 512,
// 81 cells + 16 puzzle-prefix positions, vocab 11, H_cycles 3, L_cycles 6, 2 layers
// (21 net calls = 42 blocks per step), attention and mlp_t variants, batch 1 and 8.
// Outputs are checked across ISAs before anything is timed. Medians from benchmark.js.
//   node bench/act-step.js [--threads N] [--isa NAME]
'use strict';
const os = require('node:os');
const Benchmark = require('benchmark');
const { createModel, parseConfig, randomWeights, supportedIsas, modelDimensions } = require('../dist');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const threads = Number(flag('threads', 2));
const isa = flag('isa', supportedIsas()[0]);

function sudokuConfig(mlpT) {
  return parseConfig({
    seq_len: 81, vocab_size: 11, hidden_size: 512, num_heads: 8, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
    halt_max_steps: 16, pos_encodings: mlpT ? 'none' : 'rope', mlp_t: mlpT, puzzle_emb_ndim: 512, puzzle_emb_len: 16,
    num_puzzle_identifiers: 1,
  });
}

/** Multiply-adds x 2 of one ACT step for one sample, counted from the shapes. */
function flopsPerStep(config) {
  const d = modelDimensions(config), D = config.hidden_size, T = d.totalLen;
  const mix = config.mlp_t ? 2 * D * T * 2 * d.mlpTInter + 2 * D * d.mlpTInter * T : 2 * T * D * 3 * D + 2 * T * D * D + 4 * T * T * D;
  const channel = 2 * T * D * 2 * d.mlpInter + 2 * T * d.mlpInter * D;
  const calls = config.H_cycles * (config.L_cycles + 1);
  return calls * config.L_layers * (mix + channel) + 2 * config.seq_len * D * config.vocab_size;
}

function relative(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

const rows = [];
for (const mlpT of [false, true]) {
  const config = sudokuConfig(mlpT);
  const weights = randomWeights(config, { seed: 1, qHeadStd: 0.05, puzzleEmbStd: 0.05 });
  const model = createModel(config, weights, { threads, isa });
  for (const batch of [1, 8]) {
    const inputs = Int32Array.from({ length: batch * 81 }, (_, i) => (i * 7) % 11);
    const out = model.inferSync({ inputs }, { maxSteps: 1 });
    // Validate before timing: every ISA must agree with this one.
    for (const other of supportedIsas().filter((x) => x !== isa && x !== 'scalar')) {
      const check = createModel(config, weights, { threads, isa: other });
      const err = relative(check.inferSync({ inputs }, { maxSteps: 1 }).logits, out.logits);
      check.dispose();
      if (!(err < 1e-4)) throw new Error(`${other} disagrees with ${isa}: ${err}`);
    }
    const bench = new Benchmark(`${mlpT ? 'mlp_t' : 'attention'} batch ${batch}`, () => model.inferSync({ inputs }, { maxSteps: 1 }), { minSamples: 5, maxTime: 8 });
    bench.run();
    const sorted = bench.stats.sample.slice().sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const gflops = (flopsPerStep(config) * batch) / median / 1e9;
    rows.push({ variant: mlpT ? 'mlp_t' : 'attention', batch, medianMs: median * 1e3, perSampleMs: (median * 1e3) / batch, gflops, samples: sorted.length });
  }
  model.dispose();
}
console.log(`CPU: ${os.cpus()[0].model}, ${os.cpus().length} cores; ISA ${isa}; threads ${threads}; ${new Date().toISOString()}`);
console.log('variant   | batch | median ms / ACT step | ms per sample | GFLOP/s | samples');
for (const r of rows) {
  console.log(`${r.variant.padEnd(9)} | ${String(r.batch).padStart(5)} | ${r.medianMs.toFixed(1).padStart(20)} | ${r.perSampleMs.toFixed(1).padStart(13)} | ${r.gflops.toFixed(1).padStart(7)} | ${r.samples}`);
}
