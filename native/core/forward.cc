#include "core/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace trm {

Forward::Forward(const ModelSpec& spec, const ModelWeights& weights, const cpu::KernelTable& kernels,
                 ThreadPool& pool, int capacity)
    : spec_(spec),
      weights_(weights),
      k_(kernels),
      pool_(pool),
      T_(spec.total_len()),
      D_(spec.hidden_size),
      carry_size_(static_cast<size_t>(spec.total_len()) * spec.hidden_size),
      logits_size_(static_cast<size_t>(spec.seq_len) * spec.vocab_size),
      parts_(pool.size()) {
  const size_t rows = static_cast<size_t>(capacity) * T_, D = D_;
  x_.resize(rows * D);
  z_H_.resize(rows * D);
  z_L_.resize(rows * D);
  gate_up_.resize(rows * 2 * spec.mlp_inter);
  act_.resize(rows * spec.mlp_inter);
  if (spec.mlp_t) {
    const size_t t_rows = static_cast<size_t>(capacity) * D_;
    transposed_.resize(t_rows * T_);
    t_gate_up_.resize(t_rows * 2 * spec.mlp_t_inter);
    t_act_.resize(t_rows * spec.mlp_t_inter);
  } else {
    const int hd = spec.head_dim();
    qkv_.resize(rows * 3 * D);
    attn_.resize(rows * D);
    keys_size_ = cpu::packed_linear_size(T_, hd, k_.nr);
    values_size_ = cpu::packed_linear_size(hd, T_, k_.nr);
    scores_size_ = static_cast<size_t>(T_) * T_;
    keys_.resize(parts_ * keys_size_);
    values_.resize(parts_ * values_size_);
    scores_.resize(parts_ * scores_size_);
  }
  logits_.resize(static_cast<size_t>(capacity) * logits_size_);
  q_.resize(static_cast<size_t>(capacity) * 2);
}

template <typename Fn>
void Forward::for_row_parts(int rows, Fn&& fn) {
  // Whole register tiles per thread where possible; tiny inputs stay on one thread.
  const int parts = std::max(1, std::min(parts_, rows / 8));
  pool_.parallel_for(parts, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int r0 = static_cast<int>(static_cast<int64_t>(rows) * p / parts);
      const int r1 = static_cast<int>(static_cast<int64_t>(rows) * (p + 1) / parts);
      fn(r0, r1, static_cast<int>(p));
    }
  });
}

void Forward::embed(int slot, const int32_t* tokens, int32_t puzzle_identifier) {
  const int P = spec_.puzzle_emb_len;
  // Python floats multiply float32 tensors in float32, so the scales are rounded first.
  const float embed_scale = static_cast<float>(std::sqrt(static_cast<double>(D_)));
  const float learned_scale = static_cast<float>(0.707106781);
  float* x = x_.data() + slot * carry_size_;
  for (int t = 0; t < T_; ++t) {
    float* row = x + static_cast<size_t>(t) * D_;
    if (t < P) {
      // The puzzle embedding, zero-padded to P * hidden and viewed as P rows.
      const float* emb = weights_.puzzle_emb.data() + static_cast<size_t>(puzzle_identifier) * spec_.puzzle_emb_ndim;
      for (int d = 0; d < D_; ++d) {
        const int flat = t * D_ + d;
        row[d] = flat < spec_.puzzle_emb_ndim ? emb[flat] : 0.f;
      }
    } else {
      std::memcpy(row, weights_.embed_tokens.data() + static_cast<size_t>(tokens[t - P]) * D_, D_ * sizeof(float));
    }
    if (spec_.pos_encoding == PosEncoding::kLearned) {
      const float* pos = weights_.embed_pos.data() + static_cast<size_t>(t) * D_;
      for (int d = 0; d < D_; ++d) row[d] = learned_scale * (row[d] + pos[d]);
    }
    for (int d = 0; d < D_; ++d) row[d] *= embed_scale;
  }
}

void Forward::set_carry(int slot, const float* z_H, const float* z_L) {
  float* h = z_H_.data() + slot * carry_size_;
  float* l = z_L_.data() + slot * carry_size_;
  if (z_H != nullptr) {
    std::memcpy(h, z_H, carry_size_ * sizeof(float));
    std::memcpy(l, z_L, carry_size_ * sizeof(float));
    return;
  }
  for (int t = 0; t < T_; ++t) {
    std::memcpy(h + static_cast<size_t>(t) * D_, weights_.H_init.data(), D_ * sizeof(float));
    std::memcpy(l + static_cast<size_t>(t) * D_, weights_.L_init.data(), D_ * sizeof(float));
  }
}

void Forward::move_slot(int from, int to) {
  if (from == to) return;
  const size_t bytes = carry_size_ * sizeof(float);
  std::memcpy(x_.data() + to * carry_size_, x_.data() + from * carry_size_, bytes);
  std::memcpy(z_H_.data() + to * carry_size_, z_H_.data() + from * carry_size_, bytes);
  std::memcpy(z_L_.data() + to * carry_size_, z_L_.data() + from * carry_size_, bytes);
}

void Forward::step(int n) {
  float* z_H = z_H_.data();
  float* z_L = z_L_.data();
  for (int h = 0; h < spec_.H_cycles; ++h) {
    for (int l = 0; l < spec_.L_cycles; ++l) l_level(z_L, z_H, x_.data(), n);
    l_level(z_H, z_L, nullptr, n);
  }
}

void Forward::l_level(float* hidden, const float* inject_a, const float* inject_b, int n) {
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    // The injection enters before the first layer only.
    const float* a = i == 0 ? inject_a : nullptr;
    const float* b = i == 0 ? inject_b : nullptr;
    if (spec_.mlp_t) {
      token_mlp_layer(weights_.layers[i], hidden, a, b, n);
    } else {
      attention_layer(weights_.layers[i], hidden, a, b, n);
    }
  }
}

namespace {

// hidden[i] += a[i] (+ b[i]): the official code forms (z_H + x) first, then adds it to z_L,
// so the sum is rounded in that order.
inline void inject_rows(float* hidden, const float* a, const float* b, size_t begin, size_t end) {
  if (a == nullptr) return;
  if (b == nullptr) {
    for (size_t i = begin; i < end; ++i) hidden[i] += a[i];
  } else {
    for (size_t i = begin; i < end; ++i) hidden[i] += a[i] + b[i];
  }
}

}  // namespace

// Post-norm attention then the channel SwiGLU, in three regions: (1) rows: injection, qkv
// projection, RoPE; (2) (sample, head) units: attention; (3) rows: output projection +
// residual + norm, then the SwiGLU + residual + norm.
void Forward::attention_layer(const LayerWeights& layer, float* hidden, const float* inject_a,
                              const float* inject_b, int n) {
  const int rows = n * T_;
  for_row_parts(rows, [&](int r0, int r1, int) {
    inject_rows(hidden, inject_a, inject_b, static_cast<size_t>(r0) * D_, static_cast<size_t>(r1) * D_);
    gemm(layer.qkv, hidden + static_cast<size_t>(r0) * D_, D_, qkv_.data() + static_cast<size_t>(r0) * 3 * D_, 3 * D_,
         r1 - r0, false);
    if (spec_.pos_encoding == PosEncoding::kRope) rope_rows(r0, r1);
  });
  const int heads = spec_.num_heads;
  const int64_t units = static_cast<int64_t>(n) * heads;
  const int parts = static_cast<int>(std::min<int64_t>(parts_, units));
  pool_.parallel_for(parts, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      for (int64_t unit = units * p / parts; unit < units * (p + 1) / parts; ++unit) {
        attention_unit(static_cast<int>(unit / heads), static_cast<int>(unit % heads), static_cast<int>(p));
      }
    }
  });
  for_row_parts(rows, [&](int r0, int r1, int) {
    float* h = hidden + static_cast<size_t>(r0) * D_;
    gemm(layer.o, attn_.data() + static_cast<size_t>(r0) * D_, D_, h, D_, r1 - r0, true);  // h + attn(h)
    k_.rmsnorm_rows(h, r1 - r0, D_, D_, spec_.rms_norm_eps);
    channel_mlp_rows(layer, hidden, r0, r1);
  });
}

void Forward::channel_mlp_rows(const LayerWeights& layer, float* hidden, int r0, int r1) {
  const int m = r1 - r0, inter = spec_.mlp_inter;
  float* h = hidden + static_cast<size_t>(r0) * D_;
  float* gu = gate_up_.data() + static_cast<size_t>(r0) * 2 * inter;
  float* act = act_.data() + static_cast<size_t>(r0) * inter;
  gemm(layer.gate_up, h, D_, gu, 2 * inter, m, false);
  k_.silu_mul(gu, m, inter, act);
  gemm(layer.down, act, inter, h, D_, m, true);  // h + mlp(h)
  k_.rmsnorm_rows(h, m, D_, D_, spec_.rms_norm_eps);
}

// mlp_t mixes tokens: the official code transposes each sample to [hidden, tokens], runs a
// SwiGLU over the token axis, adds the residual and RMS-normalises over the token axis too,
// then transposes back. Every transposed row is one (sample, channel), independent of the
// others, so each thread transposes in its own channels, runs the whole token SwiGLU on
// them and writes them back: one region. The channel SwiGLU follows in a second.
void Forward::token_mlp_layer(const LayerWeights& layer, float* hidden, const float* inject_a,
                              const float* inject_b, int n) {
  const int inter = spec_.mlp_t_inter;
  for_row_parts(n * D_, [&](int r0, int r1, int) {
    float* tr = transposed_.data();
    // Channels go in blocks of up to 16 (one cache line of a token row), so every line of
    // `hidden` is read once rather than once per channel.
    for (int r = r0; r < r1;) {
      const int d0 = r % D_, width = std::min({16, D_ - d0, r1 - r});
      const size_t base = static_cast<size_t>(r / D_) * carry_size_ + d0;
      float* block = tr + static_cast<size_t>(r) * T_;
      for (int t = 0; t < T_; ++t) {
        const size_t i = base + static_cast<size_t>(t) * D_;
        for (int j = 0; j < width; ++j) {
          float v = hidden[i + j];
          if (inject_a != nullptr) v += inject_b != nullptr ? inject_a[i + j] + inject_b[i + j] : inject_a[i + j];
          block[static_cast<size_t>(j) * T_ + t] = v;
        }
      }
      r += width;
    }
    const int m = r1 - r0;
    float* rows = tr + static_cast<size_t>(r0) * T_;
    float* gu = t_gate_up_.data() + static_cast<size_t>(r0) * 2 * inter;
    float* act = t_act_.data() + static_cast<size_t>(r0) * inter;
    gemm(layer.t_gate_up, rows, T_, gu, 2 * inter, m, false);
    k_.silu_mul(gu, m, inter, act);
    gemm(layer.t_down, act, inter, rows, T_, m, true);
    k_.rmsnorm_rows(rows, m, T_, T_, spec_.rms_norm_eps);
    for (int r = r0; r < r1;) {
      const int d0 = r % D_, width = std::min({16, D_ - d0, r1 - r});
      const size_t base = static_cast<size_t>(r / D_) * carry_size_ + d0;
      const float* block = tr + static_cast<size_t>(r) * T_;
      for (int t = 0; t < T_; ++t) {
        float* out = hidden + base + static_cast<size_t>(t) * D_;
        for (int j = 0; j < width; ++j) out[j] = block[static_cast<size_t>(j) * T_ + t];
      }
      r += width;
    }
  });
  for_row_parts(n * T_, [&](int r0, int r1, int) { channel_mlp_rows(layer, hidden, r0, r1); });
}

// RoPE with the rotate_half convention: the pair (i, i + half) of each head turns by the
// angle of frequency i.
void Forward::rope_rows(int r0, int r1) {
  const int hd = spec_.head_dim(), half = hd / 2, heads = spec_.num_heads;
  for (int r = r0; r < r1; ++r) {
    const int t = r % T_;
    const float* cos = weights_.rope_cos.data() + static_cast<size_t>(t) * hd;
    const float* sin = weights_.rope_sin.data() + static_cast<size_t>(t) * hd;
    float* row = qkv_.data() + static_cast<size_t>(r) * 3 * D_;
    // q heads then k heads: 2 * heads vectors of head_dim, contiguous.
    for (int v = 0; v < 2 * heads; ++v) {
      float* x = row + static_cast<size_t>(v) * hd;
      for (int i = 0; i < half; ++i) {
        const float x1 = x[i], x2 = x[i + half];
        x[i] = x1 * cos[i] - x2 * sin[i];
        x[i + half] = x2 * cos[i + half] + x1 * sin[i + half];
      }
    }
  }
}

// Non-causal softmax attention, no mask, scale 1/sqrt(head_dim), for one (sample, head), as
// two GEMMs on the microkernel: scores = Q K^T (keys packed as a weight straight from the
// qkv rows), softmax by rows, out = P V (values packed transposed). The scores of one head
// (T x T floats) stay in this thread's cache. Always fp32, whatever the model's precision.
void Forward::attention_unit(int sample, int head, int part) {
  const int hd = spec_.head_dim();
  const size_t stride = 3 * static_cast<size_t>(D_);
  const float* base = qkv_.data() + static_cast<size_t>(sample) * T_ * stride + static_cast<size_t>(head) * hd;
  float* keys = keys_.data() + part * keys_size_;
  float* values = values_.data() + part * values_size_;
  float* scores = scores_.data() + part * scores_size_;
  cpu::pack_linear_strided(base + D_, T_, hd, stride, 1, k_.nr, keys);
  cpu::pack_linear_strided(base + 2 * D_, hd, T_, 1, stride, k_.nr, values);
  k_.gemm(keys, T_, hd, base, static_cast<int>(stride), scores, T_, T_, false);
  k_.softmax_rows(scores, T_, T_, T_, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd))));
  float* out = attn_.data() + static_cast<size_t>(sample) * T_ * D_ + static_cast<size_t>(head) * hd;
  k_.gemm(values, hd, T_, scores, T_, out, D_, T_, false);
}

void Forward::heads(int n) {
  const int P = spec_.puzzle_emb_len, V = spec_.vocab_size, S = spec_.seq_len;
  const PackedLinear& lm = weights_.lm_head;
  pool_.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      const float* z = z_H_.data() + s * carry_size_;
      gemm(lm, z + static_cast<size_t>(P) * D_, D_, logits_.data() + s * logits_size_, V, S, false);
      for (int o = 0; o < 2; ++o) {
        q_.data()[2 * s + o] = k_.dot(z, weights_.q_head_weight.data() + static_cast<size_t>(o) * D_, D_) + weights_.q_head_bias[o];
      }
    }
  });
}

void Forward::gemm(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) const {
  if (w.is_bf16()) {
    k_.gemm_bf16(w.bf16.data(), w.n, w.k, a, lda, c, ldc, m, accumulate);
  } else {
    k_.gemm(w.data.data(), w.n, w.k, a, lda, c, ldc, m, accumulate);
  }
}

}  // namespace trm
