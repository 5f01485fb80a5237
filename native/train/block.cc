#include "train/block.h"

#include <cstring>

#include "train/attention.h"
#include "train/ops.h"

namespace trm::train {

BlockRunner::BlockRunner(const ModelSpec& spec, const cpu::KernelTable& kernels, ThreadPool& pool, TrainGemm& gemm,
                         const std::vector<float>& rope_cos, const std::vector<float>& rope_sin)
    : spec_(spec),
      k_(kernels),
      pool_(pool),
      gemm_(gemm),
      rope_cos_(rope_cos),
      rope_sin_(rope_sin),
      T_(spec.total_len()),
      D_(spec.hidden_size) {}

void BlockRunner::reserve(int capacity) {
  if (capacity <= capacity_) return;
  const size_t n = static_cast<size_t>(capacity), rows = n * T_, D = D_, inter = spec_.mlp_inter;
  act_.resize(rows * inter);
  d_pre_.resize(rows * D);
  d_mid_.resize(rows * D);
  d_act_.resize(rows * inter);
  d_gate_up_.resize(rows * 2 * inter);
  if (spec_.mlp_t) {
    const size_t t_rows = n * D, t_inter = spec_.mlp_t_inter;
    t_act_.resize(t_rows * t_inter);
    dt_.resize(t_rows * T_);
    dt_pre_.resize(t_rows * T_);
    dt_act_.resize(t_rows * t_inter);
    dt_gate_up_.resize(t_rows * 2 * t_inter);
  } else {
    d_attn_.resize(rows * D);
    d_qkv_.resize(rows * 3 * D);
    d_scores_.resize(n * spec_.num_heads * T_);
  }
  capacity_ = capacity;
}

// ---------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------

void BlockRunner::forward(const LayerParams& layer, const float* x, BlockTape& tape, int n) {
  if (spec_.mlp_t) {
    token_mix_forward(layer, x, tape, n);
  } else {
    attention_forward(layer, x, tape, n);
  }
  channel_mlp_forward(layer, tape, n);
}

void BlockRunner::attention_forward(const LayerParams& layer, const float* x, BlockTape& tape, int n) {
  const int rows = n * T_;
  gemm_.apply(layer.qkv.w, x, D_, tape.qkv.data(), 3 * D_, rows, false);
  if (spec_.pos_encoding == PosEncoding::kRope) {
    rope_forward(k_, pool_, tape.qkv.data(), rows, T_, spec_.num_heads, spec_.head_dim(), rope_cos_.data(), rope_sin_.data());
  }
  const AttentionShape shape{T_, spec_.num_heads, spec_.head_dim()};
  train::attention_forward(shape, k_, pool_, tape.qkv.data(), tape.probs.data(), tape.attn.data(), n);
  // Post-norm: mid = rms_norm(x + o_proj(attn)).
  std::memcpy(tape.mid.data(), x, static_cast<size_t>(rows) * D_ * sizeof(float));
  gemm_.apply(layer.o.w, tape.attn.data(), D_, tape.mid.data(), D_, rows, true);
  rmsnorm_forward(pool_, tape.mid.data(), rows, D_, spec_.rms_norm_eps, tape.mid_inv_rms.data());
}

// The official block transposes each sample to [D, T], runs the SwiGLU over the token axis,
// adds the residual, normalizes over the token axis too, and transposes back.
void BlockRunner::token_mix_forward(const LayerParams& layer, const float* x, BlockTape& tape, int n) {
  const int t_rows = n * D_, inter = spec_.mlp_t_inter;
  transpose_samples(pool_, x, tape.t_in.data(), n, T_, D_);
  gemm_.apply(layer.t_gate_up.w, tape.t_in.data(), T_, tape.t_gate_up.data(), 2 * inter, t_rows, false);
  pool_.parallel_for(t_rows, [&](int64_t b, int64_t e) {
    k_.silu_mul(tape.t_gate_up.data() + b * 2 * inter, static_cast<int>(e - b), inter, t_act_.data() + b * inter);
  });
  std::memcpy(tape.t_out.data(), tape.t_in.data(), static_cast<size_t>(t_rows) * T_ * sizeof(float));
  gemm_.apply(layer.t_down.w, t_act_.data(), inter, tape.t_out.data(), T_, t_rows, true);
  rmsnorm_forward(pool_, tape.t_out.data(), t_rows, T_, spec_.rms_norm_eps, tape.t_inv_rms.data());
  transpose_samples(pool_, tape.t_out.data(), tape.mid.data(), n, D_, T_);
}

void BlockRunner::channel_mlp_forward(const LayerParams& layer, BlockTape& tape, int n) {
  const int rows = n * T_, inter = spec_.mlp_inter;
  gemm_.apply(layer.gate_up.w, tape.mid.data(), D_, tape.gate_up.data(), 2 * inter, rows, false);
  pool_.parallel_for(rows, [&](int64_t b, int64_t e) {
    k_.silu_mul(tape.gate_up.data() + b * 2 * inter, static_cast<int>(e - b), inter, act_.data() + b * inter);
  });
  std::memcpy(tape.out.data(), tape.mid.data(), static_cast<size_t>(rows) * D_ * sizeof(float));
  gemm_.apply(layer.down.w, act_.data(), inter, tape.out.data(), D_, rows, true);
  rmsnorm_forward(pool_, tape.out.data(), rows, D_, spec_.rms_norm_eps, tape.out_inv_rms.data());
}

// ---------------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------------

void BlockRunner::backward(const LayerParams& layer, const float* x, const BlockTape& tape, const float* d_out,
                           float* d_x, int n) {
  channel_mlp_backward(layer, tape, d_out, d_mid_.data(), n);
  if (spec_.mlp_t) {
    token_mix_backward(layer, tape, d_mid_.data(), d_x, n);
  } else {
    attention_backward(layer, x, tape, d_mid_.data(), d_x, n);
  }
}

void BlockRunner::channel_mlp_backward(const LayerParams& layer, const BlockTape& tape, const float* d_out,
                                       float* d_mid, int n) {
  const int rows = n * T_, inter = spec_.mlp_inter;
  float* d_pre = d_pre_.data();
  rmsnorm_backward(pool_, d_out, tape.out.data(), tape.out_inv_rms.data(), rows, D_, d_pre);
  // The activation is cheap to recompute, so the tape keeps only gate_up.
  pool_.parallel_for(rows, [&](int64_t b, int64_t e) {
    k_.silu_mul(tape.gate_up.data() + b * 2 * inter, static_cast<int>(e - b), inter, act_.data() + b * inter);
  });
  gemm_.accumulate_weight_grad(d_pre, D_, act_.data(), inter, rows, D_, inter, layer.down.tensor->grad.data());
  gemm_.apply(layer.down.wt, d_pre, D_, d_act_.data(), inter, rows, false);
  swiglu_backward(pool_, d_act_.data(), tape.gate_up.data(), rows, inter, d_gate_up_.data());
  gemm_.accumulate_weight_grad(d_gate_up_.data(), 2 * inter, tape.mid.data(), D_, rows, 2 * inter, D_,
                               layer.gate_up.tensor->grad.data());
  // The residual carries d_pre straight through; the MLP branch adds to it.
  std::memcpy(d_mid, d_pre, static_cast<size_t>(rows) * D_ * sizeof(float));
  gemm_.apply(layer.gate_up.wt, d_gate_up_.data(), 2 * inter, d_mid, D_, rows, true);
}

void BlockRunner::attention_backward(const LayerParams& layer, const float* x, const BlockTape& tape,
                                     const float* d_mid, float* d_x, int n) {
  const int rows = n * T_;
  float* d_pre = d_pre_.data();
  rmsnorm_backward(pool_, d_mid, tape.mid.data(), tape.mid_inv_rms.data(), rows, D_, d_pre);
  gemm_.accumulate_weight_grad(d_pre, D_, tape.attn.data(), D_, rows, D_, D_, layer.o.tensor->grad.data());
  gemm_.apply(layer.o.wt, d_pre, D_, d_attn_.data(), D_, rows, false);
  const AttentionShape shape{T_, spec_.num_heads, spec_.head_dim()};
  train::attention_backward(shape, k_, pool_, tape.qkv.data(), tape.probs.data(), d_attn_.data(), d_qkv_.data(),
                            d_scores_.data(), n);
  if (spec_.pos_encoding == PosEncoding::kRope) {
    rope_backward(pool_, d_qkv_.data(), rows, T_, spec_.num_heads, spec_.head_dim(), rope_cos_.data(), rope_sin_.data());
  }
  gemm_.accumulate_weight_grad(d_qkv_.data(), 3 * D_, x, D_, rows, 3 * D_, D_, layer.qkv.tensor->grad.data());
  std::memcpy(d_x, d_pre, static_cast<size_t>(rows) * D_ * sizeof(float));
  gemm_.apply(layer.qkv.wt, d_qkv_.data(), 3 * D_, d_x, D_, rows, true);
}

void BlockRunner::token_mix_backward(const LayerParams& layer, const BlockTape& tape, const float* d_mid, float* d_x,
                                     int n) {
  const int t_rows = n * D_, inter = spec_.mlp_t_inter;
  transpose_samples(pool_, d_mid, dt_.data(), n, T_, D_);
  float* dt_pre = dt_pre_.data();
  rmsnorm_backward(pool_, dt_.data(), tape.t_out.data(), tape.t_inv_rms.data(), t_rows, T_, dt_pre);
  pool_.parallel_for(t_rows, [&](int64_t b, int64_t e) {
    k_.silu_mul(tape.t_gate_up.data() + b * 2 * inter, static_cast<int>(e - b), inter, t_act_.data() + b * inter);
  });
  gemm_.accumulate_weight_grad(dt_pre, T_, t_act_.data(), inter, t_rows, T_, inter, layer.t_down.tensor->grad.data());
  gemm_.apply(layer.t_down.wt, dt_pre, T_, dt_act_.data(), inter, t_rows, false);
  swiglu_backward(pool_, dt_act_.data(), tape.t_gate_up.data(), t_rows, inter, dt_gate_up_.data());
  gemm_.accumulate_weight_grad(dt_gate_up_.data(), 2 * inter, tape.t_in.data(), T_, t_rows, 2 * inter, T_,
                               layer.t_gate_up.tensor->grad.data());
  // dt_ is free again: it takes dL/d(x^T) before the transpose back.
  std::memcpy(dt_.data(), dt_pre, static_cast<size_t>(t_rows) * T_ * sizeof(float));
  gemm_.apply(layer.t_gate_up.wt, dt_gate_up_.data(), 2 * inter, dt_.data(), T_, t_rows, true);
  transpose_samples(pool_, dt_.data(), d_x, n, D_, T_);
}

}  // namespace trm::train
