#!/usr/bin/env node
'use strict';
// One thread or two for a small call (npm run bench:threads): whole answers at batch 1, each
// call after an idle gap as a server's are (the pool's workers asleep), on the shipped models
// and on random-weight models from 2 to 200 MFLOP a layer. Three variants per shape, each in
// processes of its own taking turns: 1 thread; 2 threads always split
// (TRM_SPLIT_MIN_REGION_FLOPS=0 at load); 2 threads under the default rule (a step whose
// parallel regions would average under Forward::kSplitMinRegionFlops of work runs on one
// thread; native/core/forward.h). The "split vs 1" column is what the rule is set from on a
// new CPU; "rule vs 1" is what a user gets. Written to bench/results/<cpu>.threads.md.
//   node bench/threads.js [--reps N] [--rounds N] [--gap MS]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { createModel, loadModel, parseConfig, randomWeights } = require('../dist');
const { cpuIdentity } = require('./lib/cpu');
const { flopsPerStep } = require('./lib/workloads');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const REPS = flag('--reps', 15);
const ROUNDS = flag('--rounds', 3);
const GAP_MS = flag('--gap', 20);
const SHIPPED = ['intent', 'sudoku-4x4', 'compliance-records', 'compliance', 'maze', 'sudoku-9x9'];
const SYNTHETIC = [];
for (const mlp_t of [false, true]) {
  for (const hidden of [64, 128, 256]) {
    for (const seq of [16, 41, 98, 200]) if (hidden * seq <= 128 * 200) SYNTHETIC.push({ mlp_t, hidden, seq });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const VARIANTS = {
  one: { threads: 1, bound: undefined },
  split: { threads: 2, bound: '0' },
  rule: { threads: 2, bound: undefined },
};

// A shape: a shipped model's name, or a random-weight model's { mlp_t, hidden, seq }.
function loadShape(shape, threads) {
  if (typeof shape === 'string') return loadModel(path.join(__dirname, '..', 'models', shape), { threads });
  const config = parseConfig({
    seq_len: shape.seq, vocab_size: 10, hidden_size: shape.hidden, num_heads: Math.max(1, shape.hidden / 32), expansion: 4, H_cycles: 2, L_cycles: 2,
    L_layers: 2, halt_max_steps: 4, pos_encodings: shape.mlp_t ? 'none' : 'rope', mlp_t: shape.mlp_t, puzzle_emb_ndim: 0, puzzle_emb_len: 0, num_puzzle_identifiers: 1,
  });
  return createModel(config, randomWeights(config, { seed: 1 }), { threads });
}

// Child process: one variant of one shape, its median over REPS calls, each after the gap.
async function child(shape, variant) {
  const { threads, bound } = VARIANTS[variant];
  if (bound === undefined) delete process.env.TRM_SPLIT_MIN_REGION_FLOPS;
  else process.env.TRM_SPLIT_MIN_REGION_FLOPS = bound;
  const model = await loadShape(shape, threads);
  const config = model.config;
  const input = { inputs: [Int32Array.from({ length: config.seq_len }, (_, i) => (i * 7 + 3) % config.vocab_size)] };
  const options = { maxSteps: typeof shape === 'string' ? config.halt_max_steps : 4, haltThreshold: null };
  await model.infer(input, options);  // first-call allocations
  const times = [];
  for (let r = 0; r < REPS; r++) {
    await sleep(GAP_MS);
    const t0 = process.hrtime.bigint();
    await model.infer(input, options);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const mflop = flopsPerStep(config) / (config.H_cycles * (config.L_cycles + 1) * config.L_layers) / 1e6;
  process.stdout.write(JSON.stringify({ ms: median(times), mflop, oneThread: model.info.oneThreadBelowBatch > 1 }) + '\n');
  model.dispose();
}

// Each variant runs in processes of its own, ROUNDS of them taking turns in rotating order:
// in one process, 2-thread models of identical weights and code, taking turns in rotating
// order, timed up to 30% apart (Intel f6 m207), each keeping its own worker thread wherever
// the OS first put it; that would bias any comparison between them.
function timeShape(label, shape) {
  const names = Object.keys(VARIANTS);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
      const out = spawnSync(process.execPath, [__filename, '--child', JSON.stringify(shape), variant, '--reps', String(REPS), '--gap', String(GAP_MS)], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`${label} ${variant}: ${out.stderr}`);
      runs[variant].push(JSON.parse(out.stdout.trim().split('\n').pop()));
    }
  }
  const [one, split, rule] = names.map((n) => median(runs[n].map((r) => r.ms)));
  return { label, mflop: runs.rule[0].mflop, one, split, rule, oneThread: runs.rule[0].oneThread };
}

async function main() {
  const machine = { ...cpuIdentity(), cores: os.cpus().length, node: process.version, date: new Date().toISOString() };
  const rows = [];
  const shapes = [
    ...SHIPPED.map((name) => [`\`${name}\``, name]),
    ...SYNTHETIC.map((s) => [`${s.mlp_t ? 'mlp_t' : 'attention'}, hidden ${s.hidden}, seq ${s.seq}`, s]),
  ];
  for (const [label, shape] of shapes) {
    rows.push(timeShape(label, shape));
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
  const lines = [
    '# One thread or two for a small call',
    '',
    `Written by \`npm run bench:threads\` (bench/threads.js) on ${machine.date}.`,
    '',
    `- CPU: ${machine.cpu} (family ${machine.family} model ${machine.model}), ${machine.cores} cores; Node ${machine.node}`,
    `- Whole answers at batch 1 (shipped models: every ACT step, no halting; random-weight models: 4 steps), each call after a ${GAP_MS} ms idle gap. Each variant in processes of its own (2-thread models of the same code side by side in one process timed up to 30% apart, each keeping its worker thread where the OS put it): ${ROUNDS} processes per variant taking turns in rotating order, each the median of ${REPS} calls; the table gives the median of those.`,
    '- "MFLOP a layer": 2 x multiply-adds of one layer on the batch. "(one thread)": the rule runs batch 1 on one thread (`model.info.oneThreadBelowBatch` > 1: under 0.5 MFLOP a parallel region, native/core/forward.h).',
    '- Where the rule splits (no \"(one thread)\"), its column and the always-split column run the same code: the gap between them is this host\'s noise.',
    '',
    '| model | MFLOP a layer | 1 thread | 2 threads, always split | 2 threads, rule | split vs 1 | rule vs 1 |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${r.mflop.toFixed(1)}${r.oneThread ? ' (one thread)' : ''} | ${r.one.toFixed(2)} ms | ${r.split.toFixed(2)} ms | ${r.rule.toFixed(2)} ms | ${(r.one / r.split).toFixed(2)}x | ${(r.one / r.rule).toFixed(2)}x |`),
    '',
  ];
  const out = path.join(__dirname, 'results', `${machine.slug}.threads.md`);
  fs.writeFileSync(out, lines.join('\n'));
  console.log(lines.join('\n'));
  console.error(`wrote ${out}`);
}

const entry = args.includes('--child') ? child(JSON.parse(args[args.indexOf('--child') + 1]), args[args.indexOf('--child') + 2]) : main();
entry.catch((e) => {
  console.error(e);
  process.exit(1);
});
