#include "core/embed_heads.h"

#include <cmath>
#include <cstring>

namespace trm {

float embed_scale(const ModelSpec& spec) { return static_cast<float>(std::sqrt(static_cast<double>(spec.hidden_size))); }

float embedding_gradient_scale(const ModelSpec& spec) {
  const float scale = embed_scale(spec);
  return spec.pos_encoding == PosEncoding::kLearned ? scale * kLearnedPosScale : scale;
}

void embed_sample(const ModelSpec& spec, const EmbeddingTables& tables, const int32_t* tokens,
                  int32_t puzzle_identifier, float* x) {
  const int T = spec.total_len(), D = spec.hidden_size, P = spec.puzzle_emb_len;
  const float scale = embed_scale(spec);
  const bool learned = spec.pos_encoding == PosEncoding::kLearned;
  for (int t = 0; t < T; ++t) {
    float* row = x + static_cast<size_t>(t) * D;
    if (t < P) {
      // The puzzle embedding, zero-padded to P * hidden and viewed as P rows.
      const float* emb = tables.puzzle_emb + static_cast<size_t>(puzzle_identifier) * spec.puzzle_emb_ndim;
      for (int d = 0; d < D; ++d) {
        const int flat = t * D + d;
        row[d] = flat < spec.puzzle_emb_ndim ? emb[flat] : 0.f;
      }
    } else {
      std::memcpy(row, tables.embed_tokens + static_cast<size_t>(tokens[t - P]) * D, D * sizeof(float));
    }
    if (learned) {
      const float* pos = tables.embed_pos + static_cast<size_t>(t) * D;
      for (int d = 0; d < D; ++d) row[d] = kLearnedPosScale * (row[d] + pos[d]);
    }
    for (int d = 0; d < D; ++d) row[d] *= scale;
  }
}

void initial_carry(const float* H_init, const float* L_init, int hidden, size_t rows, float* z_H, float* z_L) {
  const size_t bytes = static_cast<size_t>(hidden) * sizeof(float);
  for (size_t r = 0; r < rows; ++r) {
    std::memcpy(z_H + r * hidden, H_init, bytes);
    std::memcpy(z_L + r * hidden, L_init, bytes);
  }
}

void q_head(const cpu::KernelTable& kernels, const float* z_H, const float* weight, const float* bias, int hidden,
            float* q_halt, float* q_continue) {
  *q_halt = kernels.dot(z_H, weight, hidden) + bias[0];
  *q_continue = kernels.dot(z_H, weight + hidden, hidden) + bias[1];
}

}  // namespace trm
