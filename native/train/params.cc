#include "train/params.h"

#include <algorithm>

#include "train/train_gemm.h"

namespace trm::train {

void LinearParam::repack(int nr) {
  const float* value = tensor->value.data();
  w.n = n;
  w.k = k;
  if (w.data.size() == 0) w.data.resize(cpu::packed_linear_size(n, k, nr));
  cpu::pack_linear(value, n, k, nr, w.data.data());
  // W^T as a Linear weight of k outputs over n inputs: its rows are W's columns.
  wt.n = k;
  wt.k = n;
  if (wt.data.size() == 0) wt.data.resize(cpu::packed_linear_size(k, n, nr));
  pack_transposed(value, n, k, k, nr, wt.data.data());
}

ParamSet::ParamSet(const ModelSpec& spec, const WeightViews& weights, int nr) : nr_(nr) {
  validate_spec(spec);
  layers.resize(static_cast<size_t>(spec.L_layers));
  for (const TensorEntry& entry : tensor_table(spec)) {
    const float* data = checked_tensor(weights, entry);
    auto t = std::make_shared<Tensor>();
    t->name = entry.name;
    t->shape = entry.shape;
    t->trained = entry.trained;
    t->value.resize(entry.size());
    std::copy(data, data + entry.size(), t->value.data());
    if (entry.trained) t->grad.resize(entry.size());
    Tensor* tensor = t.get();
    index_[entry.name] = tensors_.size();
    tensors_.push_back(std::move(t));

    if (entry.linear()) {
      LinearParam& p = entry.role == TensorRole::kLmHead ? lm_head : layer_slot(layers[static_cast<size_t>(entry.layer)], entry.role);
      p.tensor = tensor;
      p.n = entry.shape[0];
      p.k = entry.shape[1];
      continue;
    }
    switch (entry.role) {
      case TensorRole::kEmbedTokens: embed_tokens = tensor; break;
      case TensorRole::kEmbedPos: embed_pos = tensor; break;
      case TensorRole::kPuzzleEmb: puzzle_emb = tensor; break;
      case TensorRole::kHInit: H_init = tensor; break;
      case TensorRole::kLInit: L_init = tensor; break;
      case TensorRole::kQHeadWeight: q_head_weight = tensor; break;
      case TensorRole::kQHeadBias: q_head_bias = tensor; break;
      default: break;
    }
  }
  repack();
}

std::shared_ptr<Tensor> ParamSet::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : tensors_[it->second];
}

void ParamSet::repack() {
  lm_head.repack(nr_);
  for (LayerParams& layer : layers) {
    for (LinearParam* p : {&layer.qkv, &layer.o, &layer.t_gate_up, &layer.t_down, &layer.gate_up, &layer.down}) {
      if (p->tensor != nullptr) p->repack(nr_);
    }
  }
}

void ParamSet::zero_grad() {
  for (const auto& t : tensors_) {
    if (t->trained) std::fill(t->grad.data(), t->grad.data() + t->grad.size(), 0.f);
  }
}

}  // namespace trm::train
