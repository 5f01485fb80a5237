#include "core/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace trm {
namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelMinWork = 1 << 15;
// Row blocks handed to threads stay multiples of this, so microkernel tiles stay whole.
constexpr int kRowBlock = 8;

}  // namespace

Forward::Forward(const ModelSpec& spec, const ModelWeights& weights, const cpu::KernelTable& kernels,
                 ThreadPool& pool, int capacity)
    : spec_(spec),
      weights_(weights),
      k_(kernels),
      pool_(pool),
      T_(spec.total_len()),
      D_(spec.hidden_size),
      carry_size_(static_cast<size_t>(spec.total_len()) * spec.hidden_size),
      logits_size_(static_cast<size_t>(spec.seq_len) * spec.vocab_size) {
  const size_t rows = static_cast<size_t>(capacity) * T_, D = D_;
  x_.resize(rows * D);
  z_H_.resize(rows * D);
  z_L_.resize(rows * D);
  injection_.resize(rows * D);
  gate_up_.resize(rows * 2 * spec.mlp_inter);
  act_.resize(rows * spec.mlp_inter);
  if (spec.mlp_t) {
    const size_t t_rows = static_cast<size_t>(capacity) * D_;
    transposed_.resize(t_rows * T_);
    t_gate_up_.resize(t_rows * 2 * spec.mlp_t_inter);
    t_act_.resize(t_rows * spec.mlp_t_inter);
  } else {
    qkv_.resize(rows * 3 * D);
    attn_.resize(rows * D);
    scores_.resize(static_cast<size_t>(capacity) * spec.num_heads * T_);
  }
  logits_.resize(static_cast<size_t>(capacity) * logits_size_);
  q_.resize(static_cast<size_t>(capacity) * 2);
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
  const size_t count = static_cast<size_t>(n) * carry_size_;
  float* z_H = z_H_.data();
  float* z_L = z_L_.data();
  float* injection = injection_.data();
  for (int h = 0; h < spec_.H_cycles; ++h) {
    // The official code forms (z_H + x) first, then adds it to z_L: same rounding here.
    std::memcpy(injection, z_H, count * sizeof(float));
    add(injection, x_.data(), count);
    for (int l = 0; l < spec_.L_cycles; ++l) l_level(z_L, injection, n);
    l_level(z_H, z_L, n);
  }
}

void Forward::l_level(float* hidden, const float* injection, int n) {
  add(hidden, injection, static_cast<size_t>(n) * carry_size_);
  for (const LayerWeights& layer : weights_.layers) {
    if (spec_.mlp_t) {
      token_mlp_block(layer, hidden, n);
    } else {
      attention_block(layer, hidden, n);
    }
    channel_mlp_block(layer, hidden, n);
  }
}

void Forward::attention_block(const LayerWeights& layer, float* hidden, int n) {
  const int rows = n * T_;
  gemm(layer.qkv, hidden, D_, qkv_.data(), 3 * D_, rows, false);
  if (spec_.pos_encoding == PosEncoding::kRope) apply_rope(rows);
  attention(n);
  gemm(layer.o, attn_.data(), D_, hidden, D_, rows, true);  // post-norm: norm(h + attn(h))
  rmsnorm(hidden, rows, D_);
}

void Forward::channel_mlp_block(const LayerWeights& layer, float* hidden, int n) {
  const int rows = n * T_, inter = spec_.mlp_inter;
  gemm(layer.gate_up, hidden, D_, gate_up_.data(), 2 * inter, rows, false);
  pool_.parallel_for(rows, [&](int64_t b, int64_t e) {
    k_.silu_mul(gate_up_.data() + b * 2 * inter, static_cast<int>(e - b), inter, act_.data() + b * inter);
  });
  gemm(layer.down, act_.data(), inter, hidden, D_, rows, true);
  rmsnorm(hidden, rows, D_);
}

// mlp_t mixes tokens: the official code transposes each sample to [hidden, tokens], runs a
// SwiGLU over the token axis, adds the residual and RMS-normalises over the token axis too,
// then transposes back.
void Forward::token_mlp_block(const LayerWeights& layer, float* hidden, int n) {
  const int rows = n * D_, inter = spec_.mlp_t_inter;
  float* tr = transposed_.data();
  transpose_samples(hidden, tr, n, T_, D_);
  gemm(layer.t_gate_up, tr, T_, t_gate_up_.data(), 2 * inter, rows, false);
  pool_.parallel_for(rows, [&](int64_t b, int64_t e) {
    k_.silu_mul(t_gate_up_.data() + b * 2 * inter, static_cast<int>(e - b), inter, t_act_.data() + b * inter);
  });
  gemm(layer.t_down, t_act_.data(), inter, tr, T_, rows, true);
  rmsnorm(tr, rows, T_);
  transpose_samples(tr, hidden, n, D_, T_);
}

// Each sample's [rows, cols] matrix in src becomes [cols, rows] in dst.
void Forward::transpose_samples(const float* src, float* dst, int n, int rows, int cols) {
  pool_.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      const float* from = src + s * carry_size_;
      float* to = dst + s * carry_size_;
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) to[static_cast<size_t>(c) * rows + r] = from[static_cast<size_t>(r) * cols + c];
    }
  });
}

// RoPE with the rotate_half convention: the pair (i, i + half) of each head turns by the
// angle of frequency i.
void Forward::apply_rope(int rows) {
  const int hd = spec_.head_dim(), half = hd / 2, heads = spec_.num_heads;
  pool_.parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int t = static_cast<int>(r % T_);
      const float* cos = weights_.rope_cos.data() + static_cast<size_t>(t) * hd;
      const float* sin = weights_.rope_sin.data() + static_cast<size_t>(t) * hd;
      float* row = qkv_.data() + r * 3 * D_;
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
  });
}

// Non-causal softmax attention, no mask, scale 1/sqrt(head_dim); one (sample, head) per task.
void Forward::attention(int n) {
  const int hd = spec_.head_dim(), heads = spec_.num_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const size_t stride = 3 * static_cast<size_t>(D_);
  pool_.parallel_for(static_cast<int64_t>(n) * heads, [&](int64_t b, int64_t e) {
    for (int64_t unit = b; unit < e; ++unit) {
      const int s = static_cast<int>(unit / heads), h = static_cast<int>(unit % heads);
      const float* base = qkv_.data() + static_cast<size_t>(s) * T_ * stride;
      float* scores = scores_.data() + unit * T_;
      for (int i = 0; i < T_; ++i) {
        const float* q = base + i * stride + static_cast<size_t>(h) * hd;
        float max_score = -INFINITY;
        for (int j = 0; j < T_; ++j) {
          const float* key = base + j * stride + D_ + static_cast<size_t>(h) * hd;
          scores[j] = k_.dot(q, key, hd) * scale;
          max_score = std::max(max_score, scores[j]);
        }
        float sum = 0.f;
        for (int j = 0; j < T_; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          sum += scores[j];
        }
        const float inv = 1.f / sum;
        float* out = attn_.data() + (static_cast<size_t>(s) * T_ + i) * D_ + static_cast<size_t>(h) * hd;
        std::memset(out, 0, hd * sizeof(float));
        for (int j = 0; j < T_; ++j) {
          const float* value = base + j * stride + 2 * D_ + static_cast<size_t>(h) * hd;
          k_.axpy(scores[j] * inv, value, out, hd);
        }
      }
    }
  });
}

void Forward::heads(int n) {
  const int P = spec_.puzzle_emb_len, V = spec_.vocab_size, S = spec_.seq_len;
  const PackedLinear& lm = weights_.lm_head;
  pool_.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      const float* z = z_H_.data() + s * carry_size_;
      k_.gemm(lm.data.data(), lm.n, lm.k, z + static_cast<size_t>(P) * D_, D_, logits_.data() + s * logits_size_, V, S, false);
      for (int o = 0; o < 2; ++o) {
        q_.data()[2 * s + o] = k_.dot(z, weights_.q_head_weight.data() + static_cast<size_t>(o) * D_, D_) + weights_.q_head_bias[o];
      }
    }
  });
}

void Forward::gemm(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  const int64_t work = static_cast<int64_t>(m) * w.n * w.k;
  const int blocks = (m + kRowBlock - 1) / kRowBlock;
  auto run = [&](int64_t b, int64_t e) {
    const int row0 = static_cast<int>(b) * kRowBlock;
    const int row1 = std::min(m, static_cast<int>(e) * kRowBlock);
    if (row1 > row0) {
      k_.gemm(w.data.data(), w.n, w.k, a + static_cast<size_t>(row0) * lda, lda, c + static_cast<size_t>(row0) * ldc, ldc,
              row1 - row0, accumulate);
    }
  };
  if (work < kParallelMinWork) {
    run(0, blocks);
  } else {
    pool_.parallel_for(blocks, run);
  }
}

void Forward::rmsnorm(float* x, int rows, int cols) {
  const float eps = spec_.rms_norm_eps;
  pool_.parallel_for(rows, [&](int64_t b, int64_t e) {
    k_.rmsnorm_rows(x + b * cols, static_cast<int>(e - b), cols, cols, eps);
  });
}

void Forward::add(float* x, const float* y, size_t count) {
  const int64_t chunks = static_cast<int64_t>((count + 4095) / 4096);
  pool_.parallel_for(chunks, [&](int64_t b, int64_t e) {
    const size_t begin = static_cast<size_t>(b) * 4096, end = std::min(count, static_cast<size_t>(e) * 4096);
    k_.add(x + begin, y + begin, end - begin);
  });
}

}  // namespace trm
