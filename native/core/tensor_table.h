// The tensors a spec implies, once: name (official state_dict, no checkpoint prefix), shape
// from the config, and role. Model (model.cc), the gradient engine (train/params.cc) and the
// CUDA model (cuda/device_weights.cu) iterate this table and place each tensor by its role;
// lib/model/weights.ts mirrors it for its file checks, and test/native/tensor-table.test.ts
// holds the two against each other through the addon's tensorTable().
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/model_spec.h"

namespace trm {

struct WeightView {
  const float* data = nullptr;
  size_t size = 0;
};
// Canonical state_dict names (no checkpoint prefix) to row-major float32 data.
using WeightViews = std::map<std::string, WeightView>;

enum class TensorRole {
  kEmbedTokens,   // [vocab, hidden]
  kLmHead,        // Linear [vocab, hidden]
  kQHeadWeight,   // [2, hidden]: halt, continue
  kQHeadBias,     // [2]
  kHInit,         // [hidden]
  kLInit,         // [hidden]
  kPuzzleEmb,     // [num_puzzle_identifiers, puzzle_emb_ndim] (puzzle_emb_ndim > 0 only)
  kEmbedPos,      // [total_len, hidden] (learned positions only)
  // Per layer (TensorEntry::layer), Linear weights [out, in]:
  kQkv,           // attention (absent with mlp_t)
  kO,
  kTokenGateUp,   // token-mixing SwiGLU (mlp_t only)
  kTokenDown,
  kGateUp,        // channel SwiGLU
  kDown,
};

struct TensorEntry {
  std::string name;
  std::vector<int> shape;
  TensorRole role;
  int layer;  // the L_level layer for per-layer roles, else -1
  // Whether the ACT loss trains it. H_init and L_init are buffers; the puzzle embedding is
  // a buffer too, trained by its own sparse optimizer (official CastedSparseEmbedding).
  bool trained;

  size_t size() const {
    size_t n = 1;
    for (int d : shape) n *= static_cast<size_t>(d);
    return n;
  }
  // A Linear weight [out, in]: what the GEMMs multiply by, packed at load.
  bool linear() const { return role == TensorRole::kLmHead || layer >= 0; }
};

// Every tensor `spec` implies, in the order lib/model/weights.ts lists them.
std::vector<TensorEntry> tensor_table(const ModelSpec& spec);

// The entry's data, after checking its presence, element count and finiteness (throws
// trm::Error(kModel) naming the tensor).
const float* checked_tensor(const WeightViews& weights, const TensorEntry& entry);

// The member of a layer struct (LayerWeights, train::LayerParams, cuda::DeviceLayer: each
// names its members qkv, o, t_gate_up, t_down, gate_up, down) that holds a per-layer role.
template <typename Layer>
auto& layer_slot(Layer& layer, TensorRole role) {
  switch (role) {
    case TensorRole::kQkv: return layer.qkv;
    case TensorRole::kO: return layer.o;
    case TensorRole::kTokenGateUp: return layer.t_gate_up;
    case TensorRole::kTokenDown: return layer.t_down;
    case TensorRole::kGateUp: return layer.gate_up;
    case TensorRole::kDown: return layer.down;
    default: throw std::logic_error("layer_slot: not a per-layer role");
  }
}

}  // namespace trm
