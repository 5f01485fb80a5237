// Weight checks and upload (device_weights.cuh). Host-side only: the conversions to bf16 use
// the CPU's rounding (bf16_bits), so both backends multiply by the same bf16 weights.
#include <cmath>
#include <string>

#include "core/errors.h"
#include "cuda/device_weights.cuh"

namespace trm::cuda {
namespace {

[[noreturn]] void model_error(const std::string& message) { throw Error(ErrorKind::kModel, message); }

const float* require(const WeightViews& weights, const std::string& name, size_t size) {
  auto it = weights.find(name);
  if (it == weights.end() || it->second.data == nullptr) model_error("missing tensor " + name);
  if (it->second.size != size) {
    model_error("tensor " + name + " has " + std::to_string(it->second.size) + " elements, expected " + std::to_string(size));
  }
  for (size_t i = 0; i < size; ++i) {
    if (!std::isfinite(it->second.data[i])) model_error("tensor " + name + " has a non-finite value at " + std::to_string(i));
  }
  return it->second.data;
}

DeviceBuffer upload(const float* data, size_t count) {
  DeviceBuffer out(count * sizeof(float));
  TRM_CUDA_CHECK(cudaMemcpy(out.as<void>(), data, count * sizeof(float), cudaMemcpyHostToDevice));
  return out;
}

DeviceBuffer upload_tensor(const WeightViews& w, const std::string& name, size_t count) {
  return upload(require(w, name, count), count);
}

// `row_order[i]`: which source row goes to row i (identity when empty).
DeviceLinear upload_linear(const WeightViews& w, const std::string& name, int n, int k, Precision precision,
                           const std::vector<int>& row_order = {}) {
  const float* src = require(w, name, static_cast<size_t>(n) * k);
  DeviceLinear out;
  out.n = n;
  out.k = k;
  out.bf16 = precision == Precision::kBf16;
  const size_t count = static_cast<size_t>(n) * k;
  auto row = [&](int i) { return src + static_cast<size_t>(row_order.empty() ? i : row_order[i]) * k; };
  if (out.bf16) {
    std::vector<uint16_t> host(count);
    for (int i = 0; i < n; ++i) {
      const float* r = row(i);
      for (int j = 0; j < k; ++j) host[static_cast<size_t>(i) * k + j] = bf16_bits(r[j]);
    }
    out.buffer.resize(count * sizeof(uint16_t));
    TRM_CUDA_CHECK(cudaMemcpy(out.buffer.as<void>(), host.data(), count * sizeof(uint16_t), cudaMemcpyHostToDevice));
  } else {
    std::vector<float> host(count);
    for (int i = 0; i < n; ++i) std::copy(row(i), row(i) + k, host.begin() + static_cast<size_t>(i) * k);
    out.buffer = upload(host.data(), count);
  }
  return out;
}

// gate_up_proj is [gate (inter rows); up (inter rows)]; interleave to gate 0, up 0, gate 1, ...
std::vector<int> interleave_gate_up(int inter) {
  std::vector<int> order(2 * static_cast<size_t>(inter));
  for (int j = 0; j < inter; ++j) {
    order[2 * j] = j;
    order[2 * j + 1] = inter + j;
  }
  return order;
}

}  // namespace

DeviceWeights upload_weights(const ModelSpec& spec, const WeightViews& w, Precision precision) {
  validate_spec(spec);
  const int D = spec.hidden_size, V = spec.vocab_size, T = spec.total_len();
  const size_t d = static_cast<size_t>(D);
  DeviceWeights out;
  out.embed_tokens = upload_tensor(w, "inner.embed_tokens.embedding_weight", static_cast<size_t>(V) * d);
  if (spec.puzzle_emb_ndim > 0) {
    out.puzzle_emb = upload_tensor(w, "inner.puzzle_emb.weights",
                                   static_cast<size_t>(spec.num_puzzle_identifiers) * spec.puzzle_emb_ndim);
  }
  if (spec.pos_encoding == PosEncoding::kLearned) {
    out.embed_pos = upload_tensor(w, "inner.embed_pos.embedding_weight", static_cast<size_t>(T) * d);
  }
  if (spec.pos_encoding == PosEncoding::kRope) {
    std::vector<float> cos, sin;
    rope_tables(spec, &cos, &sin);  // the CPU's tables, so both backends rotate by the same angles
    out.rope_cos = upload(cos.data(), cos.size());
    out.rope_sin = upload(sin.data(), sin.size());
  }
  out.H_init = upload_tensor(w, "inner.H_init", d);
  out.L_init = upload_tensor(w, "inner.L_init", d);
  for (int i = 0; i < spec.L_layers; ++i) {
    const std::string p = "inner.L_level.layers." + std::to_string(i) + ".";
    DeviceLayer layer;
    if (spec.mlp_t) {
      layer.t_gate_up = upload_linear(w, p + "mlp_t.gate_up_proj.weight", 2 * spec.mlp_t_inter, T, precision);
      layer.t_down = upload_linear(w, p + "mlp_t.down_proj.weight", T, spec.mlp_t_inter, precision);
    } else {
      layer.qkv = upload_linear(w, p + "self_attn.qkv_proj.weight", 3 * D, D, precision);
      layer.o = upload_linear(w, p + "self_attn.o_proj.weight", D, D, precision);
    }
    layer.gate_up = upload_linear(w, p + "mlp.gate_up_proj.weight", 2 * spec.mlp_inter, D, precision,
                                  interleave_gate_up(spec.mlp_inter));
    layer.down = upload_linear(w, p + "mlp.down_proj.weight", D, spec.mlp_inter, precision);
    out.layers.push_back(std::move(layer));
  }
  out.lm_head = upload_linear(w, "inner.lm_head.weight", V, D, precision);
  out.q_head_weight = upload_tensor(w, "inner.q_head.weight", 2 * d);
  out.q_head_bias = upload_tensor(w, "inner.q_head.bias", 2);
  return out;
}

}  // namespace trm::cuda
