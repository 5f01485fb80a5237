// Non-causal softmax attention (official Attention with num_key_value_heads = num_heads,
// scale 1/sqrt(head_dim), no mask) with the probabilities kept for the backward.
// Work is split over (sample, head) units; each unit writes only its own head's columns.
#pragma once

#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace trm::train {

struct AttentionShape {
  int positions;  // T: seq_len + puzzle prefix
  int heads;
  int head_dim;
  int hidden() const { return heads * head_dim; }
};

// qkv: [n * T, 3 * hidden], q and k already rotated. probs: [n, heads, T, T].
// out: [n * T, hidden], heads concatenated (o_proj's input).
void attention_forward(const AttentionShape& shape, const cpu::KernelTable& k, ThreadPool& pool, const float* qkv,
                       float* probs, float* out, int n);

// From dL/dout writes dL/dqkv (w.r.t. the rotated q and k, and v); `scratch` holds
// n * heads * T floats.
void attention_backward(const AttentionShape& shape, const cpu::KernelTable& k, ThreadPool& pool, const float* qkv,
                        const float* probs, const float* d_out, float* d_qkv, float* scratch, int n);

}  // namespace trm::train
