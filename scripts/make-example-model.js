#!/usr/bin/env node
// Writes models/example-untrained: a TRM with the official init (seeded), except a random
// q_head so its halting varies. It is NOT trained: it exists so a fresh clone can run the
// whole pipeline (load, fused recursion, halting, trace) before any trained model ships.
// Run after `npm run build:ts`:  node scripts/make-example-model.js
'use strict';
const path = require('node:path');
const { parseConfig, createRandomModel } = require('../dist');

const config = parseConfig({
  seq_len: 16, vocab_size: 10, hidden_size: 64, num_heads: 4, expansion: 4,
  H_cycles: 3, L_cycles: 6, L_layers: 2, halt_max_steps: 16, halt_exploration_prob: 0.1,
  pos_encodings: 'rope', mlp_t: false, puzzle_emb_ndim: 0, puzzle_emb_len: 0, num_puzzle_identifiers: 1,
  rms_norm_eps: 1e-5, rope_theta: 10000, no_ACT_continue: true,
  task: 'none (untrained example: random weights, seed 2026)',
});
createRandomModel(path.resolve(__dirname, '..', 'models', 'example-untrained'), config, { seed: 2026, qHeadStd: 0.125, dtype: 'BF16' });
