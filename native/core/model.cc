// Loading: checks the weights against the spec, copies the small tensors, packs every
// Linear weight for the GEMM microkernel, and precomputes the RoPE tables.
#include "core/model.h"

#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/forward.h"
#include "cpu/dispatch.h"

namespace trm {
namespace {

[[noreturn]] void model_error(const std::string& message) { throw Error(ErrorKind::kModel, message); }

// Every Linear goes through the model's one LinearKernel (cpu/linear.h): it packs for the
// precision and ISA chosen at load.
PackedLinear pack(const TensorEntry& t, const float* w, const cpu::LinearKernel& kernel) {
  const int n = t.shape[0], k = t.shape[1];
  if (kernel.dtype == cpu::LinearDtype::kInt8 && k > cpu::kInt8MaxK) {
    model_error("tensor " + t.name + " has " + std::to_string(k) + " inputs; precision int8 takes at most " +
                std::to_string(cpu::kInt8MaxK));
  }
  return cpu::pack_linear_weight(*kernel.impl, w, n, k);
}

}  // namespace

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
    default: return "fp32";
  }
}

cpu::LinearDtype linear_dtype(Precision precision) {
  switch (precision) {
    case Precision::kBf16: return cpu::LinearDtype::kBf16;
    case Precision::kInt8: return cpu::LinearDtype::kInt8;
    default: return cpu::LinearDtype::kF32;
  }
}

// The official RotaryEmbedding computes its tables in float32; we follow its order of
// float32 operations (exponent, power, reciprocal, angle) so positions far from 0 see the
// same angle rounding.
void rope_tables(const ModelSpec& spec, std::vector<float>* cos_out, std::vector<float>* sin_out) {
  const int dim = spec.head_dim(), half = dim / 2, len = spec.total_len();
  std::vector<float> inv_freq(half);
  for (int i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    const float power = static_cast<float>(std::pow(spec.rope_theta, static_cast<double>(exponent)));
    inv_freq[i] = 1.0f / power;
  }
  cos_out->assign(static_cast<size_t>(len) * dim, 0.f);
  sin_out->assign(static_cast<size_t>(len) * dim, 0.f);
  for (int t = 0; t < len; ++t) {
    for (int i = 0; i < half; ++i) {
      const float angle = static_cast<float>(t) * inv_freq[i];
      const float c = static_cast<float>(std::cos(static_cast<double>(angle)));
      const float s = static_cast<float>(std::sin(static_cast<double>(angle)));
      // emb = cat(freqs, freqs): both halves of a head share the angle.
      (*cos_out)[static_cast<size_t>(t) * dim + i] = (*cos_out)[static_cast<size_t>(t) * dim + half + i] = c;
      (*sin_out)[static_cast<size_t>(t) * dim + i] = (*sin_out)[static_cast<size_t>(t) * dim + half + i] = s;
    }
  }
}

void validate_spec(const ModelSpec& s) {
  auto positive = [](int v, const char* name) {
    if (v < 1) model_error(std::string(name) + " must be >= 1, got " + std::to_string(v));
  };
  positive(s.seq_len, "seq_len");
  positive(s.vocab_size, "vocab_size");
  positive(s.hidden_size, "hidden_size");
  positive(s.num_heads, "num_heads");
  positive(s.H_cycles, "H_cycles");
  positive(s.L_cycles, "L_cycles");
  positive(s.L_layers, "L_layers");
  positive(s.halt_max_steps, "halt_max_steps");
  positive(s.num_puzzle_identifiers, "num_puzzle_identifiers");
  positive(s.mlp_inter, "mlp_inter");
  if (s.hidden_size % s.num_heads != 0) model_error("hidden_size must be divisible by num_heads");
  if (s.pos_encoding == PosEncoding::kRope && s.head_dim() % 2 != 0) model_error("RoPE needs an even head size");
  if (s.puzzle_emb_ndim < 0 || s.puzzle_emb_len < 0) model_error("puzzle embedding sizes must be >= 0");
  if (s.puzzle_emb_ndim > static_cast<long long>(s.puzzle_emb_len) * s.hidden_size) {
    model_error("puzzle_emb_ndim exceeds puzzle_emb_len * hidden_size");
  }
  if (s.puzzle_emb_ndim == 0 && s.puzzle_emb_len != 0) model_error("puzzle_emb_len must be 0 without puzzle embeddings");
  if (s.mlp_t) positive(s.mlp_t_inter, "mlp_t_inter");
  if (!(s.rms_norm_eps >= 0.f) || !std::isfinite(s.rms_norm_eps)) model_error("rms_norm_eps must be finite and >= 0");
  if (!(s.rope_theta > 0.0) || !std::isfinite(s.rope_theta)) model_error("rope_theta must be finite and > 0");
}

int Model::one_thread_below_batch() const {
  int n = 1;
  while (Forward::runs_on_one_thread(spec_, threads(), n, split_min_region_flops_)) ++n;
  return n;
}

Model::Model(const ModelSpec& spec, const WeightViews& w, const cpu::KernelTable& kernels, int threads,
             Precision precision)
    : spec_(spec),
      kernels_(kernels),
      precision_(precision),
      linear_(cpu::linear_kernel(kernels, linear_dtype(precision))),
      pool_(threads),
      split_min_region_flops_(Forward::split_min_region_flops_from_env()) {
  validate_spec(spec_);
  weights_.layers.resize(static_cast<size_t>(spec_.L_layers));
  for (const TensorEntry& t : tensor_table(spec_)) {
    const float* data = checked_tensor(w, t);
    auto copy = [&](std::vector<float>& to) { to.assign(data, data + t.size()); };
    switch (t.role) {
      case TensorRole::kEmbedTokens: copy(weights_.embed_tokens); break;
      case TensorRole::kPuzzleEmb: copy(weights_.puzzle_emb); break;
      case TensorRole::kEmbedPos: copy(weights_.embed_pos); break;
      case TensorRole::kHInit: copy(weights_.H_init); break;
      case TensorRole::kLInit: copy(weights_.L_init); break;
      case TensorRole::kQHeadWeight: copy(weights_.q_head_weight); break;
      case TensorRole::kQHeadBias: copy(weights_.q_head_bias); break;
      case TensorRole::kLmHead: weights_.lm_head = pack(t, data, linear_); break;
      default: layer_slot(weights_.layers[static_cast<size_t>(t.layer)], t.role) = pack(t, data, linear_);
    }
  }
  if (spec_.pos_encoding == PosEncoding::kRope) rope_tables(spec_, &weights_.rope_cos, &weights_.rope_sin);
}

void Model::check_request(const InferRequest& r) const { check_infer_request(spec_, r); }

void check_infer_request(const ModelSpec& spec, const InferRequest& r) {
  auto input_error = [](const std::string& m) { throw Error(ErrorKind::kInput, m); };
  auto option_error = [](const std::string& m) { throw Error(ErrorKind::kOption, m); };
  const size_t B = static_cast<size_t>(r.batch);
  if (r.batch < 1) input_error("batch must be >= 1");
  if (r.inputs.size() != B * spec.seq_len) input_error("inputs must hold batch * seq_len tokens");
  for (int32_t t : r.inputs) {
    if (t < 0 || t >= spec.vocab_size) input_error("token " + std::to_string(t) + " outside [0, vocab_size)");
  }
  if (!r.puzzle_identifiers.empty()) {
    if (r.puzzle_identifiers.size() != B) input_error("puzzle_identifiers must hold batch entries");
    for (int32_t id : r.puzzle_identifiers) {
      if (id < 0 || id >= spec.num_puzzle_identifiers) input_error("puzzle identifier " + std::to_string(id) + " out of range");
    }
  }
  const size_t carry = B * spec.total_len() * spec.hidden_size;
  if (r.carry_z_H.empty() != r.carry_z_L.empty()) input_error("carry needs both z_H and z_L");
  if (!r.carry_z_H.empty() && (r.carry_z_H.size() != carry || r.carry_z_L.size() != carry)) {
    input_error("carry must hold batch * (seq_len + puzzle_emb_len) * hidden_size values");
  }
  const act::StoppingRules& s = r.stopping;
  if (s.max_steps < 1) option_error("max_steps must be >= 1");
  if (s.min_steps < 1 || s.min_steps > s.max_steps) option_error("min_steps must be in [1, max_steps]");
  if (s.use_halt && !(s.halt_threshold >= 0.0 && s.halt_threshold <= 1.0)) option_error("halt_threshold must be in [0, 1]");
  if (s.use_confidence && !(s.confidence_threshold >= 0.0 && s.confidence_threshold <= 1.0)) {
    option_error("confidence_threshold must be in [0, 1]");
  }
  if (s.stable_steps < 0) option_error("stable_steps must be >= 1 (or 0 for off)");
  if (r.h_cycles < 0 || r.h_cycles > kMaxCycles) option_error("h_cycles must be in [1, " + std::to_string(kMaxCycles) + "] (or 0 for the model's)");
  if (r.l_cycles < 0 || r.l_cycles > kMaxCycles) option_error("l_cycles must be in [1, " + std::to_string(kMaxCycles) + "] (or 0 for the model's)");
}

ModelSpec spec_for_request(const ModelSpec& spec, const InferRequest& r) {
  ModelSpec run = spec;
  if (r.h_cycles > 0) run.H_cycles = r.h_cycles;
  if (r.l_cycles > 0) run.L_cycles = r.l_cycles;
  return run;
}

}  // namespace trm
