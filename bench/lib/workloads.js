'use strict';
// The benchmark workloads (issue 4): an app-integration model, the Sudoku-size model in both
// token-mixing variants, and a long-sequence attention model. Random weights with a q head
// that is not the official all-zero init, so halting decisions vary between samples.
const { parseConfig, randomWeights, modelDimensions } = require('../../dist');

const WORKLOADS = {
  tiny: {
    title: 'tiny (app integration): hidden 128, 2 layers, seq 32, attention + RoPE',
    config: {
      seq_len: 32, vocab_size: 32, hidden_size: 128, num_heads: 4, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
      halt_max_steps: 16, pos_encodings: 'rope', mlp_t: false, puzzle_emb_ndim: 0, puzzle_emb_len: 0, num_puzzle_identifiers: 1,
    },
  },
  'sudoku-attention': {
    title: 'Sudoku-size, attention: hidden 512, seq 81 + 16 prefix, vocab 11, H 3 x L 6',
    config: {
      seq_len: 81, vocab_size: 11, hidden_size: 512, num_heads: 8, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
      halt_max_steps: 16, pos_encodings: 'rope', mlp_t: false, puzzle_emb_ndim: 512, puzzle_emb_len: 16, num_puzzle_identifiers: 1,
    },
  },
  'sudoku-mlp_t': {
    title: 'Sudoku-size, mlp_t: hidden 512, seq 81 + 16 prefix, vocab 11, H 3 x L 6',
    config: {
      seq_len: 81, vocab_size: 11, hidden_size: 512, num_heads: 8, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
      halt_max_steps: 16, pos_encodings: 'none', mlp_t: true, puzzle_emb_ndim: 512, puzzle_emb_len: 16, num_puzzle_identifiers: 1,
    },
  },
  long: {
    title: 'long sequence: hidden 256, seq 400, attention + RoPE, H 3 x L 6',
    config: {
      seq_len: 400, vocab_size: 6, hidden_size: 256, num_heads: 4, expansion: 4, H_cycles: 3, L_cycles: 6, L_layers: 2,
      halt_max_steps: 16, pos_encodings: 'rope', mlp_t: false, puzzle_emb_ndim: 0, puzzle_emb_len: 0, num_puzzle_identifiers: 1,
    },
  },
};

function buildWorkload(name) {
  const spec = WORKLOADS[name];
  const config = parseConfig(spec.config);
  const weights = randomWeights(config, { seed: 1, qHeadStd: 0.05, puzzleEmbStd: 0.05 });
  return { name, title: spec.title, config, weights };
}

/**
 * FLOPs (multiply-add = 2) of one ACT step for one sample, counted from the shapes: every
 * Linear layer, attention's QK^T and PV, and the heads. Elementwise work (norms, SiLU,
 * softmax, RoPE) is not counted: it is a small share and not what the peak measures.
 */
function flopsPerStep(config) {
  const d = modelDimensions(config);
  const D = config.hidden_size, T = d.totalLen;
  const mix = config.mlp_t
    ? 2 * D * T * 2 * d.mlpTInter + 2 * D * d.mlpTInter * T
    : 2 * T * D * 3 * D + 2 * T * D * D + 2 * 2 * T * T * D;
  const channel = 2 * T * D * 2 * d.mlpInter + 2 * T * d.mlpInter * D;
  const netCalls = config.H_cycles * (config.L_cycles + 1);
  return netCalls * config.L_layers * (mix + channel) + 2 * config.seq_len * D * config.vocab_size + 2 * 2 * D;
}

function randomInputs(config, batch, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % config.vocab_size;
  return Int32Array.from({ length: batch * config.seq_len }, next);
}

module.exports = { WORKLOADS, buildWorkload, flopsPerStep, randomInputs };
