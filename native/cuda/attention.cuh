// Non-causal softmax attention for short sequences (the whole TRM input, tens to a few
// hundred tokens), scale 1/sqrt(head_dim), no mask, with RoPE fused into the loads of q and
// k: the qkv projection's output is read once, never rotated in place.
#pragma once

#include <cuda_runtime.h>

namespace trm::cuda {

constexpr int kAttentionMaxHeadDim = 128;

// Once per device, at model load: allows the kernel's shared memory for head_dim up to 128.
void attention_configure();

// qkv: [n * T, 3 * D] (q heads, k heads, v heads); out: [n * T, D], head h at columns
// h * head_dim. rope_cos/rope_sin: [T, head_dim] tables (core/model.cc rope_tables), or
// null for no rotation. Always fp32, whatever the model's precision (as the CPU path).
void attention(const float* qkv, float* out, int n, int T, int D, int heads, const float* rope_cos,
               const float* rope_sin, cudaStream_t stream);

}  // namespace trm::cuda
