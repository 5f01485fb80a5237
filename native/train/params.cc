#include "train/params.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "train/train_gemm.h"

namespace trm::train {
namespace {

[[noreturn]] void model_error(const std::string& message) { throw Error(ErrorKind::kModel, message); }

size_t element_count(const std::vector<int>& shape) {
  size_t n = 1;
  for (int d : shape) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace

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

std::vector<TensorSpec> model_tensors(const ModelSpec& s) {
  const int D = s.hidden_size, V = s.vocab_size, T = s.total_len();
  std::vector<TensorSpec> out = {
      {"inner.embed_tokens.embedding_weight", {V, D}, true},
      {"inner.lm_head.weight", {V, D}, true},
      {"inner.q_head.weight", {2, D}, true},
      {"inner.q_head.bias", {2}, true},
      {"inner.H_init", {D}, false},
      {"inner.L_init", {D}, false},
  };
  if (s.puzzle_emb_ndim > 0) out.push_back({"inner.puzzle_emb.weights", {s.num_puzzle_identifiers, s.puzzle_emb_ndim}, false});
  if (s.pos_encoding == PosEncoding::kLearned) out.push_back({"inner.embed_pos.embedding_weight", {T, D}, true});
  for (int i = 0; i < s.L_layers; ++i) {
    const std::string p = "inner.L_level.layers." + std::to_string(i) + ".";
    if (s.mlp_t) {
      out.push_back({p + "mlp_t.gate_up_proj.weight", {2 * s.mlp_t_inter, T}, true});
      out.push_back({p + "mlp_t.down_proj.weight", {T, s.mlp_t_inter}, true});
    } else {
      out.push_back({p + "self_attn.qkv_proj.weight", {3 * D, D}, true});
      out.push_back({p + "self_attn.o_proj.weight", {D, D}, true});
    }
    out.push_back({p + "mlp.gate_up_proj.weight", {2 * s.mlp_inter, D}, true});
    out.push_back({p + "mlp.down_proj.weight", {D, s.mlp_inter}, true});
  }
  return out;
}

ParamSet::ParamSet(const ModelSpec& spec, const WeightViews& weights, int nr) : nr_(nr) {
  validate_spec(spec);
  for (const TensorSpec& ts : model_tensors(spec)) {
    const size_t size = element_count(ts.shape);
    auto it = weights.find(ts.name);
    if (it == weights.end() || it->second.data == nullptr) model_error("missing tensor " + ts.name);
    if (it->second.size != size) {
      model_error("tensor " + ts.name + " has " + std::to_string(it->second.size) + " elements, expected " +
                  std::to_string(size));
    }
    auto t = std::make_shared<Tensor>();
    t->name = ts.name;
    t->shape = ts.shape;
    t->trained = ts.trained;
    t->value.resize(size);
    for (size_t i = 0; i < size; ++i) {
      const float v = it->second.data[i];
      if (!std::isfinite(v)) model_error("tensor " + ts.name + " has a non-finite value at " + std::to_string(i));
      t->value.data()[i] = v;
    }
    if (ts.trained) t->grad.resize(size);
    index_[ts.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  embed_tokens = get("inner.embed_tokens.embedding_weight");
  H_init = get("inner.H_init");
  L_init = get("inner.L_init");
  q_head_weight = get("inner.q_head.weight");
  q_head_bias = get("inner.q_head.bias");
  if (spec.puzzle_emb_ndim > 0) puzzle_emb = get("inner.puzzle_emb.weights");
  if (spec.pos_encoding == PosEncoding::kLearned) embed_pos = get("inner.embed_pos.embedding_weight");
  lm_head = linear("inner.lm_head.weight");
  for (int i = 0; i < spec.L_layers; ++i) {
    const std::string p = "inner.L_level.layers." + std::to_string(i) + ".";
    LayerParams layer;
    if (spec.mlp_t) {
      layer.t_gate_up = linear(p + "mlp_t.gate_up_proj.weight");
      layer.t_down = linear(p + "mlp_t.down_proj.weight");
    } else {
      layer.qkv = linear(p + "self_attn.qkv_proj.weight");
      layer.o = linear(p + "self_attn.o_proj.weight");
    }
    layer.gate_up = linear(p + "mlp.gate_up_proj.weight");
    layer.down = linear(p + "mlp.down_proj.weight");
    layers.push_back(std::move(layer));
  }
  repack();
}

std::shared_ptr<Tensor> ParamSet::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : tensors_[it->second];
}

Tensor* ParamSet::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) model_error("internal: no tensor " + name);
  return tensors_[it->second].get();
}

LinearParam ParamSet::linear(const std::string& name) {
  LinearParam p;
  p.tensor = get(name);
  p.n = p.tensor->shape[0];
  p.k = p.tensor->shape[1];
  return p;
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
