// The model's weights on the device, uploaded once at load. Linear weights keep their
// [out, in] layout (the GEMM reads them through strides), in fp32 or bf16 by the precision;
// channel gate_up_proj rows are interleaved (gate j, up j) so the GEMM epilogue can fuse
// SwiGLU. Embeddings, inits, RoPE tables and the q head stay fp32.
#pragma once

#include <vector>

#include "core/model.h"
#include "cuda/common.cuh"

namespace trm::cuda {

struct DeviceLinear {
  DeviceBuffer buffer;
  int n = 0;  // out features
  int k = 0;  // in features
  bool bf16 = false;
  const void* data() const { return buffer.as<void>(); }
};

struct DeviceLayer {
  DeviceLinear qkv, o;             // attention (absent with mlp_t)
  DeviceLinear t_gate_up, t_down;  // token-mixing SwiGLU (mlp_t only); gate rows then up rows
  DeviceLinear gate_up, down;      // channel SwiGLU; gate_up rows interleaved
};

struct DeviceWeights {
  DeviceBuffer embed_tokens, puzzle_emb, embed_pos, H_init, L_init, rope_cos, rope_sin;
  DeviceBuffer q_head_weight, q_head_bias;
  std::vector<DeviceLayer> layers;
  DeviceLinear lm_head;
};

// Checks every tensor of tensor_table(spec) (throws trm::Error(kModel), as trm::Model
// does), then uploads. Synchronous.
DeviceWeights upload_weights(const ModelSpec& spec, const WeightViews& weights, Precision precision);

}  // namespace trm::cuda
