// The trainable state of one TRM: every state_dict tensor as an fp32 master copy (unpacked,
// row-major, under its canonical name), a gradient buffer for each tensor the ACT loss
// trains, and packed copies of the Linear weights for the GEMM microkernel.
//
// An optimizer updates the master copies in place between steps; the engine repacks the
// Linear weights at the start of every step (O(weights), negligible next to a step).
// Tensors are shared_ptr so that views handed out (e.g. to JavaScript) outlive the engine.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/model.h"
#include "core/model_spec.h"

namespace trm::train {

struct Tensor {
  std::string name;
  std::vector<int> shape;
  // Whether the ACT loss trains it. H_init and L_init are buffers; the puzzle embedding is
  // a buffer too, trained by its own sparse optimizer from the per-identifier gradient the
  // engine returns separately (official CastedSparseEmbedding).
  bool trained = false;
  AlignedBuffer value;
  AlignedBuffer grad;  // same size as value when trained, else empty

  size_t size() const { return value.size(); }
};

// A Linear weight W[n][k] (y = x W^T) and the two packings its products need:
// `w` for the forward product and `wt` (W^T packed, n' = k outputs) for dX = dY W.
struct LinearParam {
  Tensor* tensor = nullptr;
  int n = 0;
  int k = 0;
  PackedLinear w;
  PackedLinear wt;

  void repack(int nr);
};

struct LayerParams {
  LinearParam qkv, o;              // attention (absent with mlp_t)
  LinearParam t_gate_up, t_down;   // token-mixing SwiGLU (mlp_t only)
  LinearParam gate_up, down;       // channel SwiGLU
};

class ParamSet {
 public:
  // Checks every tensor of tensor_table(spec) (trm::Error kModel), then copies.
  ParamSet(const ModelSpec& spec, const WeightViews& weights, int nr);

  const std::vector<std::shared_ptr<Tensor>>& tensors() const { return tensors_; }
  // nullptr when the model has no tensor of that name.
  std::shared_ptr<Tensor> find(const std::string& name) const;

  // Packs every Linear weight again from its master copy.
  void repack();
  void zero_grad();

  std::vector<LayerParams> layers;
  LinearParam lm_head;
  Tensor* embed_tokens = nullptr;
  Tensor* embed_pos = nullptr;   // learned positions only
  Tensor* puzzle_emb = nullptr;  // puzzle_emb_ndim > 0 only
  Tensor* H_init = nullptr;
  Tensor* L_init = nullptr;
  Tensor* q_head_weight = nullptr;
  Tensor* q_head_bias = nullptr;

 private:

  int nr_;
  std::vector<std::shared_ptr<Tensor>> tensors_;
  std::map<std::string, size_t> index_;
};

}  // namespace trm::train
