#!/usr/bin/env node
'use strict';
// Per-kernel GEMM throughput (npm run bench:kernels): every Linear GEMM of
// native/cpu/kernel_list.inc that runs here, on one thread, at the Sudoku-size shapes of the
// bench workloads, weight packed once; GFLOP/s (GOP/s for int8, a multiply-add counting 2)
// and the share of the peak loop of the arithmetic it runs on. The outputs are checked in
// test/native/kernels.test.ts and int8-kernels.test.ts; this only times them. Then the
// elementwise kernels (softmax, SiLU) of every table.
//   node bench/kernels.js [--reps N]
const { loadAddon } = require('../dist/native/addon');

const probe = loadAddon().kernelProbe;
const args = process.argv.slice(2);
const REPS = args.includes('--reps') ? Number(args[args.indexOf('--reps') + 1]) : 9;
// Sudoku-size (hidden 512, 97 positions, SwiGLU 1536): one sample's rows of gate_up and down,
// and 8 samples' rows of gate_up.
const SHAPES = [
  { label: 'gate_up, 97 rows', m: 97, n: 3072, k: 512 },
  { label: 'down, 97 rows', m: 97, n: 512, k: 1536 },
  { label: 'gate_up, 776 rows', m: 776, n: 3072, k: 512 },
];
const peakKind = { fma: 'fp32', 'fp32 fma on bf16 values': 'fp32', vdpbf16ps: 'bf16', vpdpbusd: 'int8', 'amx-bf16': 'amx-bf16', 'amx-int8': 'amx-int8' };
const peaks = {};
for (const kind of new Set(Object.values(peakKind))) peaks[kind] = probe.measurePeak(kind, 1, 0.5);
const seen = new Set();
console.log(`peaks, 1 thread: ${Object.entries(peaks).map(([k, v]) => `${k} ${v == null ? 'n/a' : v.toFixed(0)}`).join(', ')}`);
console.log('| kernel | dtype | shape | ms | G(FL)OP/s | share of its peak |');
console.log('|---|---|---|---|---|---|');
for (const k of probe.linearKernels()) {
  if (!k.runs || seen.has(k.name) || k.table === 'scalar') continue;
  seen.add(k.name);
  for (const s of SHAPES) {
    const seconds = probe.timeLinear(k.name, s.m, s.n, s.k, REPS);
    const rate = (2 * s.m * s.n * s.k) / seconds / 1e9;
    const peak = peaks[peakKind[k.label]];
    console.log(`| ${k.name} | ${k.dtype} | ${s.label} (${s.m}x${s.n}x${s.k}) | ${(seconds * 1e3).toFixed(2)} | ${rate.toFixed(0)} | ${peak ? `${((100 * rate) / peak).toFixed(0)}%` : 'n/a'} |`);
  }
}

// The elementwise kernels between the GEMMs, per table, on one thread: attention's softmax
// over a long-sequence head (400 x 400 scores, as the bench's long workload) and the SwiGLU's
// silu(gate) * up on a chain chunk (64 rows of 768), both in L2. ns per output element,
// median of REPS runs; the softmax time excludes refilling its input.
function medianNs(fn, calls) {
  fn();
  const times = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / calls);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}
const T = 400, siluRows = 64, inter = 768;
const scores = Float32Array.from({ length: T * T }, (_, i) => Math.sin(i * 0.37) * 10);
const work = new Float32Array(T * T);
const gateUp = Float32Array.from({ length: 2 * siluRows * inter }, (_, i) => Math.sin(i * 0.11) * 6);
const act = new Float32Array(siluRows * inter);
console.log('');
console.log('| table | softmax 400x400, ns/element | silu*up 64x768, ns/element |');
console.log('|---|---|---|');
for (const isa of probe.isas()) {
  const refill = medianNs(() => work.set(scores), 20);
  const softmax = medianNs(() => { work.set(scores); probe.softmaxRows(isa, work, T, T, 0.125); }, 20) - refill;
  const silu = medianNs(() => probe.siluMul(isa, gateUp, siluRows, inter, act), 50);
  console.log(`| ${isa} | ${(softmax / (T * T)).toFixed(3)} | ${(silu / (siluRows * inter)).toFixed(3)} |`);
}
