// Non-causal softmax attention of one (sample, head) on a kernel table: the op the fused
// recursion runs (core/forward.cc) and the op harness checks (native/tests).
#pragma once

#include <cstddef>

#include "cpu/kernels.h"

namespace trm::cpu {

// Query rows per block of an attention head: the block's scores (rows x T floats) kept to
// ~64 KB, so the softmax and PV read them from L1/L2 while they are hot; a multiple of
// `multiple` (the kernel's row tile), at least one tile, at most T. T = 97 (Sudoku) is one
// block at a multiple of 8. Every attention kernel blocks by this rule.
int attention_query_block_rows(int T, int multiple);

// Scratch for one call, per thread: packed keys, packed transposed values, the scores of
// one block of query rows.
size_t attention_keys_size(int T, int head_dim, int nr);
size_t attention_values_size(int T, int head_dim, int nr);
size_t attention_scores_size(int T);

// out[t*ldo + d] = softmax_j(q_t . k_j / sqrt(head_dim)) v_j[d], for t < T, d < head_dim,
// where q_t = qkv[t*stride + d], k_j = qkv[j*stride + hidden + d], v_j = qkv[j*stride + 2*hidden + d]
// (`qkv` already offset to the head). No mask. Two GEMMs on the table's microkernel, a block
// of query rows at a time: the keys packed as a weight straight from the qkv rows, the
// values packed transposed.
void attention_head(const KernelTable& k, const float* qkv, size_t stride, int hidden, int T, int head_dim,
                    float* keys, float* values, float* scores, float* out, int ldo);

}  // namespace trm::cpu
