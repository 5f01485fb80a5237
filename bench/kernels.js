#!/usr/bin/env node
'use strict';
// Per-kernel GEMM throughput (npm run bench:kernels): every Linear GEMM of
// native/cpu/kernel_list.inc that runs here, on one thread, at the Sudoku-size shapes of the
// bench workloads, weight packed once; GFLOP/s (GOP/s for int8, a multiply-add counting 2)
// and the share of the peak loop of the arithmetic it runs on. The outputs are checked in
// test/native/kernels.test.ts and int8-kernels.test.ts; this only times them.
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
