#!/usr/bin/env node
'use strict';
// One thread or two for a small call (npm run bench:threads): whole answers at batch 1, each
// call after an idle gap as a server's are (the pool's workers asleep), on the shipped models
// and on random-weight models from 2 to 200 MFLOP a layer. Three models per shape, taking
// turns call by call: 1 thread; 2 threads always split (TRM_SPLIT_MIN_REGION_FLOPS=0 at load);
// 2 threads under the default rule (a step whose parallel regions would average under
// Forward::kSplitMinRegionFlops of work runs on one thread; native/core/forward.h). The "split vs 1" column is what the rule is set
// from on a new CPU; "rule vs 1" is what a user gets. Written to bench/results/<cpu>.threads.md.
//   node bench/threads.js [--reps N] [--gap MS]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createModel, loadModel, parseConfig, randomWeights } = require('../dist');
const { cpuIdentity } = require('./lib/cpu');
const { flopsPerStep } = require('./lib/workloads');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const REPS = flag('--reps', 25);
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

function withSplitBound(value, load) {
  const before = process.env.TRM_SPLIT_MIN_REGION_FLOPS;
  if (value === undefined) delete process.env.TRM_SPLIT_MIN_REGION_FLOPS;
  else process.env.TRM_SPLIT_MIN_REGION_FLOPS = value;
  try {
    return load();
  } finally {
    if (before === undefined) delete process.env.TRM_SPLIT_MIN_REGION_FLOPS;
    else process.env.TRM_SPLIT_MIN_REGION_FLOPS = before;
  }
}

async function timeShape(label, load, steps) {
  const models = {
    one: await withSplitBound(undefined, () => load(1)),
    split: await withSplitBound('0', () => load(2)),
    rule: await withSplitBound(undefined, () => load(2)),
  };
  const config = models.one.config;
  const oneThread = models.rule.info.oneThreadBelowBatch > 1;  // batch 1 on one thread under the rule
  const input = { inputs: [Int32Array.from({ length: config.seq_len }, (_, i) => (i * 7 + 3) % config.vocab_size)] };
  const options = { maxSteps: steps ?? config.halt_max_steps, haltThreshold: null };
  const times = { one: [], split: [], rule: [] };
  for (const m of Object.values(models)) await m.infer(input, options);  // first-call allocations
  const order = Object.entries(models);
  for (let r = 0; r < REPS; r++) {
    // Each model in each place of the turn as often: the call after another model's ran
    // measurably faster or slower here, depending on place, not on the model.
    for (const [k, m] of [...order.slice(r % 3), ...order.slice(0, r % 3)]) {
      await sleep(GAP_MS);
      const t0 = process.hrtime.bigint();
      await m.infer(input, options);
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  for (const m of Object.values(models)) m.dispose();
  // A layer's share of a step (the heads, a small part, included).
  const mflop = flopsPerStep(config) / (config.H_cycles * (config.L_cycles + 1) * config.L_layers) / 1e6;
  const [one, split, rule] = [times.one, times.split, times.rule].map(median);
  return { label, mflop, one, split, rule, oneThread };
}

async function main() {
  const machine = { ...cpuIdentity(), cores: os.cpus().length, node: process.version, date: new Date().toISOString() };
  const rows = [];
  for (const name of SHIPPED) {
    const dir = path.join(__dirname, '..', 'models', name);
    rows.push(await timeShape(`\`${name}\``, (threads) => loadModel(dir, { threads }), undefined));
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
  for (const s of SYNTHETIC) {
    const config = parseConfig({
      seq_len: s.seq, vocab_size: 10, hidden_size: s.hidden, num_heads: Math.max(1, s.hidden / 32), expansion: 4, H_cycles: 2, L_cycles: 2,
      L_layers: 2, halt_max_steps: 4, pos_encodings: s.mlp_t ? 'none' : 'rope', mlp_t: s.mlp_t, puzzle_emb_ndim: 0, puzzle_emb_len: 0, num_puzzle_identifiers: 1,
    });
    const weights = randomWeights(config, { seed: 1 });
    const label = `${s.mlp_t ? 'mlp_t' : 'attention'}, hidden ${s.hidden}, seq ${s.seq}`;
    rows.push(await timeShape(label, (threads) => createModel(config, weights, { threads }), 4));
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
  const lines = [
    '# One thread or two for a small call',
    '',
    `Written by \`npm run bench:threads\` (bench/threads.js) on ${machine.date}.`,
    '',
    `- CPU: ${machine.cpu} (family ${machine.family} model ${machine.model}), ${machine.cores} cores; Node ${machine.node}`,
    `- Whole answers at batch 1 (shipped models: every ACT step, no halting; random-weight models: 4 steps), each call after a ${GAP_MS} ms idle gap. Medians of ${REPS} calls, the three models taking turns call by call, in rotating order.`,
    '- "MFLOP a layer": 2 x multiply-adds of one layer on the batch. "(one thread)": the rule runs batch 1 on one thread (`model.info.oneThreadBelowBatch` > 1: under 0.9 MFLOP a parallel region, native/core/forward.h).',
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

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
