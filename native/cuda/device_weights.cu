// Weight checks and upload (device_weights.cuh). Host-side only: the conversions to bf16 use
// the rounding of core/bf16.h, so both backends multiply by the same bf16 weights.
#include <string>

#include "cuda/device_weights.cuh"

namespace trm::cuda {
namespace {

DeviceBuffer upload(const float* data, size_t count) {
  DeviceBuffer out(count * sizeof(float));
  TRM_CUDA_CHECK(cudaMemcpy(out.as<void>(), data, count * sizeof(float), cudaMemcpyHostToDevice));
  return out;
}

// `row_order[i]`: which source row goes to row i (identity when empty).
DeviceLinear upload_linear(const float* src, int n, int k, Precision precision, const std::vector<int>& row_order = {}) {
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
      for (int j = 0; j < k; ++j) host[static_cast<size_t>(i) * k + j] = bf16_from_f32(r[j]);
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
  DeviceWeights out;
  out.layers.resize(static_cast<size_t>(spec.L_layers));
  for (const TensorEntry& t : tensor_table(spec)) {
    const float* data = checked_tensor(w, t);
    switch (t.role) {
      case TensorRole::kEmbedTokens: out.embed_tokens = upload(data, t.size()); break;
      case TensorRole::kPuzzleEmb: out.puzzle_emb = upload(data, t.size()); break;
      case TensorRole::kEmbedPos: out.embed_pos = upload(data, t.size()); break;
      case TensorRole::kHInit: out.H_init = upload(data, t.size()); break;
      case TensorRole::kLInit: out.L_init = upload(data, t.size()); break;
      case TensorRole::kQHeadWeight: out.q_head_weight = upload(data, t.size()); break;
      case TensorRole::kQHeadBias: out.q_head_bias = upload(data, t.size()); break;
      case TensorRole::kLmHead: out.lm_head = upload_linear(data, t.shape[0], t.shape[1], precision); break;
      default: {
        // Channel gate_up rows interleaved for the GEMM's fused SwiGLU epilogue.
        const std::vector<int> order = t.role == TensorRole::kGateUp ? interleave_gate_up(spec.mlp_inter) : std::vector<int>{};
        layer_slot(out.layers[static_cast<size_t>(t.layer)], t.role) = upload_linear(data, t.shape[0], t.shape[1], precision, order);
      }
    }
  }
  if (spec.pos_encoding == PosEncoding::kRope) {
    std::vector<float> cos, sin;
    rope_tables(spec, &cos, &sin);  // the CPU's tables, so both backends rotate by the same angles
    out.rope_cos = upload(cos.data(), cos.size());
    out.rope_sin = upload(sin.data(), sin.size());
  }
  return out;
}

}  // namespace trm::cuda
