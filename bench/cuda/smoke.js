#!/usr/bin/env node
'use strict';
// The smallest run of every CUDA code path (attention with RoPE / learned / no positions,
// mlp_t, puzzle prefix, fp32 and bf16, adaptive halting with compaction, trace with logits,
// carry in and out), for compute-sanitizer: run.sh runs it as
//   TRM_CUDA_GRAPHS=0 compute-sanitizer --tool memcheck node bench/cuda/smoke.js
// (graphs off so a fault points at the launch). Prints one line per case; exits 1 on an error.
const { createModel, randomConfig, randomWeights } = require('../../dist');

const cases = [
  ['rope+puzzle', randomConfig({ seq_len: 12, hidden_size: 64, num_heads: 2, L_layers: 2, puzzle_emb_ndim: 64, puzzle_emb_len: 8, num_puzzle_identifiers: 5 })],
  ['learned', randomConfig({ seq_len: 37, hidden_size: 128, num_heads: 2, pos_encodings: 'learned' })],
  ['none hd128', randomConfig({ seq_len: 70, hidden_size: 256, num_heads: 2, pos_encodings: 'none', vocab_size: 13 })],
  ['mlp_t', randomConfig({ seq_len: 30, hidden_size: 96, num_heads: 2, mlp_t: true, puzzle_emb_ndim: 96, puzzle_emb_len: 3, num_puzzle_identifiers: 3 })],
];
let failed = false;
for (const [name, config] of cases) {
  const weights = randomWeights(config, { seed: 4, qHeadStd: 0.5, puzzleEmbStd: 0.5 });
  for (const precision of ['fp32', 'bf16']) {
    try {
      const m = createModel(config, weights, { device: 'cuda', precision });
      const batch = 5;
      const inputs = Int32Array.from({ length: batch * config.seq_len }, (_, i) => (i * 7) % config.vocab_size);
      const a = m.inferSync({ inputs }, { maxSteps: 3, haltThreshold: 0.5, trace: 'logits', returnCarry: true });
      const b = m.inferSync({ inputs, carry: a.carry }, { maxSteps: 2 });
      const finite = [a.logits, b.logits, a.carry.zH].every((x) => x.every(Number.isFinite));
      console.log(`${name} ${precision}: steps [${Array.from(a.steps)}], trace ${a.trace.length}, finite ${finite}`);
      if (!finite) failed = true;
      m.dispose();
    } catch (e) {
      console.log(`${name} ${precision}: ERROR ${e.message}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
