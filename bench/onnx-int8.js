#!/usr/bin/env node
// One ACT step of the Sudoku-size models (bench/lib/workloads.js: attention and mlp_t,
// hidden 512, 81 + 16 positions, H 3 x L 6) on the onnx backend in fp32 and in int8
// (`precision: 'int8'`, the MatMulInteger graph), measured side by side in one run, with
// the native fp32 operator beside them. The int8 graph is checked against fp32 before
// anything is timed, on one network pass of the same weights (H_cycles = L_cycles = 1): the
// full recursion of random weights is chaotic and amplifies quantization noise (to ~0.7
// relative on mlp_t, as on the golden mlp_t model), one pass keeps it at 3e-2 to 5e-2, and a
// wrong graph gives errors near 1. The logit error of the full step is printed.
//   node bench/onnx-int8.js [--threads N] [--batch B] [--runs R]
'use strict';
const os = require('node:os');
const { createModel, createOnnxModel } = require('../dist');
const { buildWorkload, randomInputs } = require('./lib/workloads');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const threads = Number(flag('threads', 1));
const batch = Number(flag('batch', 1));
const runs = Number(flag('runs', 7));
/** int8 vs fp32 logits of one network pass, norm-wise relative: above this the graph is wrong, not noisy. */
const VALIDATION_BOUND = 0.2;

function relative(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

async function median(fn) {
  await fn();
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

(async () => {
  console.log(`CPU: ${os.cpus()[0].model}; ${threads} thread(s), batch ${batch}, medians of ${runs} (one ACT step)`);
  console.log('workload            onnx fp32 ms  onnx int8 ms  int8 speed-up  native fp32 ms  int8 vs fp32 logits (one pass, full step)');
  for (const name of ['sudoku-attention', 'sudoku-mlp_t']) {
    const { config, weights } = buildWorkload(name);
    const input = { inputs: randomInputs(config, batch, 7) };
    const options = { maxSteps: 1 };
    const onePass = { ...config, H_cycles: 1, L_cycles: 1 };
    const [passFp32, passInt8] = [await createOnnxModel(onePass, weights, { threads }), await createOnnxModel(onePass, weights, { threads, precision: 'int8' })];
    const passError = relative((await passInt8.infer(input, options)).logits, (await passFp32.infer(input, options)).logits);
    passFp32.dispose();
    passInt8.dispose();
    if (!(passError < VALIDATION_BOUND)) throw new Error(`${name}: one-pass int8 logits are ${passError} from fp32 (bound ${VALIDATION_BOUND}); not timing a wrong graph`);
    const fp32 = await createOnnxModel(config, weights, { threads });
    const int8 = await createOnnxModel(config, weights, { threads, precision: 'int8' });
    const native = createModel(config, weights, { threads });
    const error = relative((await int8.infer(input, options)).logits, (await fp32.infer(input, options)).logits);
    const tFp32 = await median(() => fp32.infer(input, options));
    const tInt8 = await median(() => int8.infer(input, options));
    const tNative = await median(() => native.inferSync(input, options));
    console.log(`${name.padEnd(20)}${tFp32.toFixed(1).padStart(12)}${tInt8.toFixed(1).padStart(14)}${(tFp32 / tInt8).toFixed(2).padStart(14)}x` +
      `${tNative.toFixed(1).padStart(16)}   ${passError.toExponential(2)}, ${error.toExponential(2)}`);
    for (const m of [fp32, int8, native]) m.dispose();
  }
})().catch((e) => { console.error(e); process.exitCode = 1; });
