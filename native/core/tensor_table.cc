#include "core/tensor_table.h"

#include <cmath>

#include "core/errors.h"

namespace trm {
namespace {

[[noreturn]] void model_error(const std::string& message) { throw Error(ErrorKind::kModel, message); }

}  // namespace

std::vector<TensorEntry> tensor_table(const ModelSpec& s) {
  using R = TensorRole;
  const int D = s.hidden_size, V = s.vocab_size, T = s.total_len();
  std::vector<TensorEntry> out = {
      {"inner.embed_tokens.embedding_weight", {V, D}, R::kEmbedTokens, -1, true},
      {"inner.lm_head.weight", {V, D}, R::kLmHead, -1, true},
      {"inner.q_head.weight", {2, D}, R::kQHeadWeight, -1, true},
      {"inner.q_head.bias", {2}, R::kQHeadBias, -1, true},
      {"inner.H_init", {D}, R::kHInit, -1, false},
      {"inner.L_init", {D}, R::kLInit, -1, false},
  };
  if (s.puzzle_emb_ndim > 0) {
    out.push_back({"inner.puzzle_emb.weights", {s.num_puzzle_identifiers, s.puzzle_emb_ndim}, R::kPuzzleEmb, -1, false});
  }
  if (s.pos_encoding == PosEncoding::kLearned) out.push_back({"inner.embed_pos.embedding_weight", {T, D}, R::kEmbedPos, -1, true});
  for (int i = 0; i < s.L_layers; ++i) {
    const std::string p = "inner.L_level.layers." + std::to_string(i) + ".";
    if (s.mlp_t) {
      out.push_back({p + "mlp_t.gate_up_proj.weight", {2 * s.mlp_t_inter, T}, R::kTokenGateUp, i, true});
      out.push_back({p + "mlp_t.down_proj.weight", {T, s.mlp_t_inter}, R::kTokenDown, i, true});
    } else {
      // num_key_value_heads == num_heads in TRM, so q, k and v are each hidden_size wide.
      out.push_back({p + "self_attn.qkv_proj.weight", {3 * D, D}, R::kQkv, i, true});
      out.push_back({p + "self_attn.o_proj.weight", {D, D}, R::kO, i, true});
    }
    out.push_back({p + "mlp.gate_up_proj.weight", {2 * s.mlp_inter, D}, R::kGateUp, i, true});
    out.push_back({p + "mlp.down_proj.weight", {D, s.mlp_inter}, R::kDown, i, true});
  }
  return out;
}

const float* checked_tensor(const WeightViews& weights, const TensorEntry& entry) {
  const std::string& name = entry.name;
  const size_t size = entry.size();
  auto it = weights.find(name);
  if (it == weights.end() || it->second.data == nullptr) model_error("missing tensor " + name);
  if (it->second.size != size) {
    model_error("tensor " + name + " has " + std::to_string(it->second.size) + " elements, expected " +
                std::to_string(size));
  }
  for (size_t i = 0; i < size; ++i) {
    if (!std::isfinite(it->second.data[i])) model_error("tensor " + name + " has a non-finite value at " + std::to_string(i));
  }
  return it->second.data;
}

}  // namespace trm
