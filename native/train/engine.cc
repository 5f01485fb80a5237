#include "train/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/embed_heads.h"
#include "core/errors.h"
#include "train/ops.h"

namespace trm::train {
namespace {

void grow(AlignedBuffer& buffer, size_t count) {
  if (buffer.size() < count) buffer.resize(count);
}

}  // namespace

GradientEngine::GradientEngine(const ModelSpec& spec, const WeightViews& weights, const cpu::KernelTable& kernels,
                               int threads)
    : spec_(spec),
      kernels_(kernels),
      pool_(threads),
      params_(spec_, weights, kernels.nr),
      gemm_(kernels_, pool_),
      blocks_(spec_, kernels_, pool_, gemm_, rope_cos_, rope_sin_),
      carry_size_(static_cast<size_t>(spec.total_len()) * spec.hidden_size) {
  if (spec_.pos_encoding == PosEncoding::kRope) rope_tables(spec_, &rope_cos_, &rope_sin_);
}

void GradientEngine::zero_gradients() {
  std::lock_guard<std::mutex> lock(mutex_);
  params_.zero_grad();
}

void GradientEngine::check(const StepInput& in) const {
  auto input_error = [](const std::string& m) { throw Error(ErrorKind::kInput, m); };
  if (in.batch < 1) input_error("batch must be >= 1");
  if (in.inputs == nullptr || in.labels == nullptr) input_error("inputs and labels are required");
  if ((in.carry_z_H == nullptr) != (in.carry_z_L == nullptr)) input_error("carry needs both z_H and z_L");
  const size_t tokens = static_cast<size_t>(in.batch) * spec_.seq_len;
  for (size_t i = 0; i < tokens; ++i) {
    if (in.inputs[i] < 0 || in.inputs[i] >= spec_.vocab_size) {
      input_error("token " + std::to_string(in.inputs[i]) + " outside [0, vocab_size)");
    }
    if (in.labels[i] != kIgnoreLabel && (in.labels[i] < 0 || in.labels[i] >= spec_.vocab_size)) {
      input_error("label " + std::to_string(in.labels[i]) + " is neither -100 nor in [0, vocab_size)");
    }
  }
  if (in.puzzle_identifiers != nullptr) {
    for (int b = 0; b < in.batch; ++b) {
      const int32_t id = in.puzzle_identifiers[b];
      if (id < 0 || id >= spec_.num_puzzle_identifiers) input_error("puzzle identifier " + std::to_string(id) + " out of range");
    }
  }
}

void GradientEngine::reserve(int n) {
  if (n <= capacity_) return;
  const size_t rows = static_cast<size_t>(n) * spec_.total_len(), D = spec_.hidden_size;
  const size_t token_rows = static_cast<size_t>(n) * spec_.seq_len;
  for (AlignedBuffer* b : {&x_, &z_H_, &z_L_, &injection_, &d_state_, &d_scratch_, &d_x_}) grow(*b, rows * D);
  grow(z_tokens_, token_rows * D);
  grow(d_z_tokens_, token_rows * D);
  grow(logits_, token_rows * spec_.vocab_size);
  grow(d_logits_, token_rows * spec_.vocab_size);
  grow(d_q_halt_, static_cast<size_t>(n));
  tape_.reserve(spec_, n);
  blocks_.reserve(n);
  capacity_ = n;
}

void GradientEngine::step(const StepInput& input, StepOutput& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  check(input);
  const int n = input.batch;
  reserve(n);
  // The optimizer may have changed the master weights since the last step.
  params_.repack();
  embed(input, n);
  set_carry(input, n);

  const size_t count = static_cast<size_t>(n) * carry_size_;
  float* z_H = z_H_.data();
  float* z_L = z_L_.data();
  for (int h = 0; h < spec_.H_cycles; ++h) {
    // Only the last H cycle carries gradient; the others reuse tape slot 0 as scratch.
    const bool recorded = h == spec_.H_cycles - 1;
    // The official code forms (z_H + x) first, then adds it to z_L: same rounding here.
    add_to(pool_, z_H, x_.data(), injection_.data(), count);
    for (int l = 0; l < spec_.L_cycles; ++l) l_level(z_L, injection_.data(), recorded ? l : 0, n);
    l_level(z_H, z_L, recorded ? spec_.L_cycles : 0, n);
  }

  out.batch = n;
  heads(n, out);
  out.predictions.resize(static_cast<size_t>(n) * spec_.seq_len);
  out.seq_correct.resize(static_cast<size_t>(n));
  out.loss = act_loss(logits_.data(), input.labels, out.q_halt.data(), n, spec_.seq_len, spec_.vocab_size,
                      d_logits_.data(), d_q_halt_.data(), out.predictions.data(), out.seq_correct.data());
  out.z_H.assign(z_H, z_H + count);
  out.z_L.assign(z_L, z_L + count);
  backward(input, n, out);
}

void GradientEngine::embed(const StepInput& input, int n) {
  const EmbeddingTables tables{params_.embed_tokens->value.data(),
                               params_.puzzle_emb ? params_.puzzle_emb->value.data() : nullptr,
                               params_.embed_pos ? params_.embed_pos->value.data() : nullptr};
  pool_.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      const int32_t puzzle = input.puzzle_identifiers ? input.puzzle_identifiers[s] : 0;
      embed_sample(spec_, tables, input.inputs + s * spec_.seq_len, puzzle, x_.data() + s * carry_size_);
    }
  });
}

void GradientEngine::set_carry(const StepInput& input, int n) {
  const size_t count = static_cast<size_t>(n) * carry_size_;
  if (input.carry_z_H != nullptr) {
    std::memcpy(z_H_.data(), input.carry_z_H, count * sizeof(float));
    std::memcpy(z_L_.data(), input.carry_z_L, count * sizeof(float));
    return;
  }
  initial_carry(params_.H_init->value.data(), params_.L_init->value.data(), spec_.hidden_size,
                static_cast<size_t>(n) * spec_.total_len(), z_H_.data(), z_L_.data());
}

void GradientEngine::l_level(float* hidden, const float* injection, int slot, int n) {
  CallTape& call = tape_.calls[static_cast<size_t>(slot)];
  const size_t count = static_cast<size_t>(n) * carry_size_;
  add_to(pool_, hidden, injection, call.input.data(), count);
  const float* x = call.input.data();
  for (int i = 0; i < spec_.L_layers; ++i) {
    blocks_.forward(params_.layers[static_cast<size_t>(i)], x, call.blocks[static_cast<size_t>(i)], n);
    x = call.blocks[static_cast<size_t>(i)].out.data();
  }
  std::memcpy(hidden, x, count * sizeof(float));
}

void GradientEngine::heads(int n, StepOutput& out) {
  const int D = spec_.hidden_size, S = spec_.seq_len;
  const float* z_H = z_H_.data();
  // The token positions of every sample, gathered so lm_head is one GEMM (and its weight
  // gradient later one more).
  for (int s = 0; s < n; ++s) {
    std::memcpy(z_tokens_.data() + static_cast<size_t>(s) * S * D, token_rows(spec_, z_H + static_cast<size_t>(s) * carry_size_),
                static_cast<size_t>(S) * D * sizeof(float));
  }
  gemm_.apply(params_.lm_head.w, z_tokens_.data(), D, logits_.data(), spec_.vocab_size, n * S, false);
  out.q_halt.resize(static_cast<size_t>(n));
  out.q_continue.resize(static_cast<size_t>(n));
  const float* qw = params_.q_head_weight->value.data();
  const float* qb = params_.q_head_bias->value.data();
  for (int s = 0; s < n; ++s) {
    q_head(kernels_, z_H + static_cast<size_t>(s) * carry_size_, qw, qb, D, &out.q_halt[static_cast<size_t>(s)],
           &out.q_continue[static_cast<size_t>(s)]);
  }
}

void GradientEngine::backward(const StepInput& input, int n, StepOutput& out) {
  const size_t count = static_cast<size_t>(n) * carry_size_;
  float* d = d_state_.data();
  heads_backward(n, d);
  // z_H = L(z_H_prev + z_L): z_H_prev is detached, so the gradient goes on to z_L only.
  l_level_backward(spec_.L_cycles, d, n);
  // z_L = L(z_L_prev + (z_H_prev + x)) for each L cycle, last first: the gradient reaches
  // x at every call and z_L_prev until the first call, whose z_L_prev is detached.
  for (int l = spec_.L_cycles - 1; l >= 0; --l) {
    l_level_backward(l, d, n);
    if (l == spec_.L_cycles - 1) {
      std::memcpy(d_x_.data(), d, count * sizeof(float));
    } else {
      add_into(pool_, d_x_.data(), d, count);
    }
  }
  embedding_backward(input, d_x_.data(), n, out);
}

void GradientEngine::l_level_backward(int slot, float* d, int n) {
  const CallTape& call = tape_.calls[static_cast<size_t>(slot)];
  float* cur = d;
  float* next = d_scratch_.data();
  for (int i = spec_.L_layers - 1; i >= 0; --i) {
    const float* x = i == 0 ? call.input.data() : call.blocks[static_cast<size_t>(i - 1)].out.data();
    blocks_.backward(params_.layers[static_cast<size_t>(i)], x, call.blocks[static_cast<size_t>(i)], cur, next, n);
    std::swap(cur, next);
  }
  if (cur != d) std::memcpy(d, cur, static_cast<size_t>(n) * carry_size_ * sizeof(float));
}

void GradientEngine::heads_backward(int n, float* d_z_H) {
  const int T = spec_.total_len(), D = spec_.hidden_size, P = spec_.puzzle_emb_len, S = spec_.seq_len;
  const int V = spec_.vocab_size, rows = n * S;
  gemm_.accumulate_weight_grad(d_logits_.data(), V, z_tokens_.data(), D, rows, V, D,
                               params_.lm_head.tensor->grad.data());
  gemm_.apply(params_.lm_head.wt, d_logits_.data(), V, d_z_tokens_.data(), D, rows, false);
  std::memset(d_z_H, 0, static_cast<size_t>(n) * carry_size_ * sizeof(float));
  for (int s = 0; s < n; ++s) {
    std::memcpy(d_z_H + (static_cast<size_t>(s) * T + P) * D, d_z_tokens_.data() + static_cast<size_t>(s) * S * D,
                static_cast<size_t>(S) * D * sizeof(float));
  }
  // no_ACT_continue: q_continue enters no loss, so only q_halt's row of q_head gets gradient.
  const float* qw = params_.q_head_weight->value.data();
  float* qw_grad = params_.q_head_weight->grad.data();
  float* qb_grad = params_.q_head_bias->grad.data();
  const float* z_H = z_H_.data();
  for (int s = 0; s < n; ++s) {
    const float g = d_q_halt_.data()[s];
    const float* z0 = z_H + static_cast<size_t>(s) * carry_size_;
    float* d0 = d_z_H + static_cast<size_t>(s) * carry_size_;
    kernels_.axpy(g, qw, d0, D);
    kernels_.axpy(g, z0, qw_grad, D);
    qb_grad[0] += g;
  }
}

void GradientEngine::embedding_backward(const StepInput& input, const float* d_x, int n, StepOutput& out) {
  const int T = spec_.total_len(), D = spec_.hidden_size, P = spec_.puzzle_emb_len, S = spec_.seq_len;
  const bool learned = spec_.pos_encoding == PosEncoding::kLearned;
  // x = scale * e, or scale * (c * (e + pos)) with learned positions.
  const float e_scale = embedding_gradient_scale(spec_);

  float* tokens_grad = params_.embed_tokens->grad.data();
  for (int s = 0; s < n; ++s) {
    for (int t = P; t < T; ++t) {
      const int32_t token = input.inputs[static_cast<size_t>(s) * S + (t - P)];
      kernels_.axpy(e_scale, d_x + (static_cast<size_t>(s) * T + t) * D, tokens_grad + static_cast<size_t>(token) * D, D);
    }
  }
  if (learned) {
    float* pos_grad = params_.embed_pos->grad.data();
    for (int s = 0; s < n; ++s) kernels_.axpy(e_scale, d_x + static_cast<size_t>(s) * carry_size_, pos_grad, T * D);
  }

  out.puzzle_ids.clear();
  out.puzzle_grad.clear();
  const int ndim = spec_.puzzle_emb_ndim;
  if (ndim == 0) return;
  out.puzzle_ids.resize(static_cast<size_t>(n));
  for (int s = 0; s < n; ++s) out.puzzle_ids[static_cast<size_t>(s)] = input.puzzle_identifiers ? input.puzzle_identifiers[s] : 0;
  std::sort(out.puzzle_ids.begin(), out.puzzle_ids.end());
  out.puzzle_ids.erase(std::unique(out.puzzle_ids.begin(), out.puzzle_ids.end()), out.puzzle_ids.end());
  out.puzzle_grad.assign(out.puzzle_ids.size() * static_cast<size_t>(ndim), 0.f);
  for (int s = 0; s < n; ++s) {
    const int32_t id = input.puzzle_identifiers ? input.puzzle_identifiers[s] : 0;
    const size_t row = static_cast<size_t>(
        std::lower_bound(out.puzzle_ids.begin(), out.puzzle_ids.end(), id) - out.puzzle_ids.begin());
    // The prefix rows hold the identifier's ndim values flat (then zero padding): the first
    // ndim values of the sample's d_x are exactly their gradient.
    kernels_.axpy(e_scale, d_x + static_cast<size_t>(s) * carry_size_, out.puzzle_grad.data() + row * ndim, ndim);
  }
}

}  // namespace trm::train
