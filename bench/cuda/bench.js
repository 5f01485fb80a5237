#!/usr/bin/env node
'use strict';
// The CUDA operator on the GPU machine (run by bench/cuda/run.sh, needs dist/ and an addon
// built with TRM_CUDA=ON): writes a Sudoku-size random model (hidden 512, seq 81 + 16 prefix,
// vocab 11, H3 L6, 2 layers, 16 steps) and a reference for torch_bench.py, checks CUDA
// against the CPU operator on it and on generated configs, then times the whole 16-step
// answer: latency at batch 1, answers/s at 64, 512 and 4096, achieved TFLOP/s.
//   node bench/cuda/bench.js --out DIR [--work DIR] [--budget SECONDS] [--batches 1,64,512,4096]
// --out gets cuda-results.json; --work (default --out) the model directory and reference.safetensors.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createModel, cudaAvailable, createRandomModel, randomConfig, randomWeights, writeSafetensors } = require('../../dist');
const { flopsPerStep, randomInputs } = require('../lib/workloads');

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const OUT = path.resolve(opt('--out', path.join(__dirname, 'out')));
const WORK = path.resolve(opt('--work', OUT));
const MODEL_DIR = path.join(WORK, 'sudoku-model');
const BUDGET_S = Number(opt('--budget', '12')); // per measurement, after warm-up
const BATCHES = opt('--batches', '1,64,512,4096').split(',').map(Number);
const STEPS = 16;
fs.mkdirSync(OUT, { recursive: true });
fs.mkdirSync(WORK, { recursive: true });

function relativeError(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
function agreement(a, b) {
  let same = 0;
  for (let i = 0; i < a.length; i++) same += a[i] === b[i] ? 1 : 0;
  return same / a.length;
}
function median(xs) {
  const s = xs.slice().sort((x, y) => x - y), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
// Wall clock around a blocking call that returns only once the device is done (inferSync
// synchronises the stream before copying results back): one warm-up (graph capture, first
// workspace), then repeats until the budget or 50 samples, at least 3.
function time(fn) {
  fn();
  const samples = [];
  const start = process.hrtime.bigint();
  while (samples.length < 50) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (samples.length >= 3 && Number(process.hrtime.bigint() - start) / 1e9 > BUDGET_S) break;
  }
  return { median: median(samples), samples: samples.length, min: Math.min(...samples) };
}

const status = cudaAvailable();
console.log(`cudaAvailable: ${JSON.stringify(status)}`);
if (!status.built || status.devices === 0) {
  console.error('bench/cuda/bench.js: no CUDA device for this build; build with TRM_CUDA=ON on a GPU machine');
  process.exit(2);
}

const results = { machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, checks: [], timings: [] };

// ---- parity on generated configs (small; every architecture switch) ----------------------
const CHECKS = [
  ['rope+puzzle', randomConfig({ seq_len: 12, hidden_size: 64, num_heads: 2, L_layers: 2, puzzle_emb_ndim: 64, puzzle_emb_len: 8, num_puzzle_identifiers: 5 })],
  ['learned', randomConfig({ seq_len: 37, hidden_size: 128, num_heads: 2, pos_encodings: 'learned' })],
  ['none hd128', randomConfig({ seq_len: 70, hidden_size: 256, num_heads: 2, pos_encodings: 'none', vocab_size: 13 })],
  ['mlp_t', randomConfig({ seq_len: 30, hidden_size: 96, num_heads: 2, mlp_t: true, puzzle_emb_ndim: 96, puzzle_emb_len: 3, num_puzzle_identifiers: 3 })],
];
function check(name, config, weights, batch) {
  const inputs = randomInputs(config, batch, 5);
  const row = { name, batch };
  for (const precision of ['fp32', 'bf16']) {
    const cpu = createModel(config, weights, { precision, threads: Math.min(16, os.cpus().length) });
    const gpu = createModel(config, weights, { device: 'cuda', precision });
    row.device = gpu.info.isa;
    const one = { maxSteps: 1, returnCarry: true };
    const a = cpu.inferSync({ inputs }, one), b = gpu.inferSync({ inputs }, one);
    row[`${precision}_step1_logits`] = relativeError(b.logits, a.logits);
    row[`${precision}_step1_zH`] = relativeError(b.carry.zH, a.carry.zH);
    row[`${precision}_step1_q`] = relativeError(b.qHalt, a.qHalt);
    const A = cpu.inferSync({ inputs }), B = gpu.inferSync({ inputs });
    row[`${precision}_answer_logits`] = relativeError(B.logits, A.logits);
    row[`${precision}_answer_agreement`] = agreement(B.predictions, A.predictions);
    cpu.dispose();
    gpu.dispose();
  }
  row.fp32_ok = row.fp32_step1_logits < 1e-4 && row.fp32_step1_zH < 1e-4 && row.fp32_step1_q < 1e-4;
  console.log(`check ${name} (batch ${batch}): ` + Object.entries(row).filter(([k]) => k.includes('_')).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toExponential(2) : v}`).join(' '));
  results.checks.push(row);
  return row;
}
for (const [name, config] of CHECKS) check(name, config, randomWeights(config, { seed: 3, qHeadStd: 0.5, puzzleEmbStd: 0.5 }), 3);

// ---- the Sudoku-size model, shared with torch_bench.py -----------------------------------
const sudoku = randomConfig({
  seq_len: 81, vocab_size: 11, hidden_size: 512, num_heads: 8, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
  halt_max_steps: STEPS, pos_encodings: 'rope', puzzle_emb_ndim: 512, puzzle_emb_len: 16, num_puzzle_identifiers: 2,
});
const model = createRandomModel(MODEL_DIR, sudoku, { seed: 2510, puzzleEmbStd: 0.5 });
const weights = model.weights;
const sudokuCheck = check('sudoku', sudoku, weights, 4);

// The reference torch_bench.py validates against: the CPU operator, fp32, step 1 and step 16.
{
  const cpu = createModel(sudoku, weights, { threads: Math.min(16, os.cpus().length) });
  const inputs = randomInputs(sudoku, 4, 9);
  const step1 = cpu.inferSync({ inputs }, { maxSteps: 1 });
  const step16 = cpu.inferSync({ inputs }, { maxSteps: STEPS });
  writeSafetensors(path.join(WORK, 'reference.safetensors'), {
    inputs: { dtype: 'I32', shape: [4, sudoku.seq_len], data: inputs },
    logits_step1: { dtype: 'F32', shape: [4, sudoku.seq_len, sudoku.vocab_size], data: step1.logits },
    q_halt_step1: { dtype: 'F32', shape: [4], data: step1.qHalt },
    logits_step16: { dtype: 'F32', shape: [4, sudoku.seq_len, sudoku.vocab_size], data: step16.logits },
  });
  cpu.dispose();
}

// ---- timings -------------------------------------------------------------------------------
const flopsPerAnswer = flopsPerStep(sudoku) * STEPS;
for (const precision of ['bf16', 'fp32']) {
  const gpu = createModel(sudoku, weights, { device: 'cuda', precision });
  for (const batch of BATCHES) {
    // fp32 SIMT at 4096 answers would take minutes per call: the parity mode is timed smaller.
    if (precision === 'fp32' && batch > 512) continue;
    const inputs = randomInputs(sudoku, batch, 17);
    const t = time(() => gpu.inferSync({ inputs }, { maxSteps: STEPS }));
    const row = {
      impl: `trm-node cuda ${precision}`, batch, seconds: t.median, samples: t.samples,
      answers_per_s: batch / t.median, tflops: (flopsPerAnswer * batch) / t.median / 1e12,
    };
    console.log(`${row.impl} batch ${batch}: ${(t.median * 1e3).toFixed(3)} ms median of ${t.samples}, `
      + `${row.answers_per_s.toFixed(1)} answers/s, ${row.tflops.toFixed(2)} TFLOP/s`);
    results.timings.push(row);
  }
  gpu.dispose();
}
results.flops_per_answer = flopsPerAnswer;
results.sudoku_parity_ok = sudokuCheck.fp32_ok;
fs.writeFileSync(path.join(OUT, 'cuda-results.json'), JSON.stringify(results, null, 2));
console.log(`wrote ${path.join(OUT, 'cuda-results.json')}`);
if (!results.checks.every((c) => c.fp32_ok)) {
  console.error('PARITY FAILED for at least one config: timings above are of a wrong operator');
  process.exitCode = 3;
}
