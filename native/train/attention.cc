#include "train/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace trm::train {

void attention_forward(const AttentionShape& shape, const cpu::KernelTable& k, ThreadPool& pool, const float* qkv,
                       float* probs, float* out, int n) {
  const int T = shape.positions, hd = shape.head_dim, heads = shape.heads, D = shape.hidden();
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const size_t stride = 3 * static_cast<size_t>(D);
  pool.parallel_for(static_cast<int64_t>(n) * heads, [&](int64_t b, int64_t e) {
    for (int64_t unit = b; unit < e; ++unit) {
      const int s = static_cast<int>(unit / heads), h = static_cast<int>(unit % heads);
      const float* base = qkv + static_cast<size_t>(s) * T * stride;
      for (int i = 0; i < T; ++i) {
        float* p = probs + (static_cast<size_t>(unit) * T + i) * T;
        const float* q = base + i * stride + static_cast<size_t>(h) * hd;
        float max_score = -INFINITY;
        for (int j = 0; j < T; ++j) {
          const float* key = base + j * stride + D + static_cast<size_t>(h) * hd;
          p[j] = k.dot(q, key, hd) * scale;
          max_score = std::max(max_score, p[j]);
        }
        float sum = 0.f;
        for (int j = 0; j < T; ++j) {
          p[j] = std::exp(p[j] - max_score);
          sum += p[j];
        }
        const float inv = 1.f / sum;
        for (int j = 0; j < T; ++j) p[j] *= inv;
        float* o = out + (static_cast<size_t>(s) * T + i) * D + static_cast<size_t>(h) * hd;
        std::memset(o, 0, hd * sizeof(float));
        for (int j = 0; j < T; ++j) k.axpy(p[j], base + j * stride + 2 * D + static_cast<size_t>(h) * hd, o, hd);
      }
    }
  });
}

// With P = softmax(S), S = scale * Q K^T and O = P V, per (sample, head):
//   dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),
//   dQ = scale * dS K,  dK = scale * dS^T Q,  dV = P^T dO.
void attention_backward(const AttentionShape& shape, const cpu::KernelTable& k, ThreadPool& pool, const float* qkv,
                        const float* probs, const float* d_out, float* d_qkv, float* scratch, int n) {
  const int T = shape.positions, hd = shape.head_dim, heads = shape.heads, D = shape.hidden();
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const size_t stride = 3 * static_cast<size_t>(D);
  pool.parallel_for(static_cast<int64_t>(n) * heads, [&](int64_t b, int64_t e) {
    for (int64_t unit = b; unit < e; ++unit) {
      const int s = static_cast<int>(unit / heads), h = static_cast<int>(unit % heads);
      const size_t q_off = static_cast<size_t>(h) * hd, k_off = D + q_off, v_off = 2 * D + q_off;
      const float* base = qkv + static_cast<size_t>(s) * T * stride;
      float* d_base = d_qkv + static_cast<size_t>(s) * T * stride;
      float* ds = scratch + static_cast<size_t>(unit) * T;
      for (int j = 0; j < T; ++j) {
        std::memset(d_base + j * stride + k_off, 0, hd * sizeof(float));
        std::memset(d_base + j * stride + v_off, 0, hd * sizeof(float));
      }
      for (int i = 0; i < T; ++i) {
        const float* p = probs + (static_cast<size_t>(unit) * T + i) * T;
        const float* d_o = d_out + (static_cast<size_t>(s) * T + i) * D + q_off;
        double row = 0.0;
        for (int j = 0; j < T; ++j) {
          ds[j] = k.dot(d_o, base + j * stride + v_off, hd);  // dP[i][j]
          row += static_cast<double>(ds[j]) * p[j];
        }
        const float row_f = static_cast<float>(row);
        float* d_q = d_base + i * stride + q_off;
        std::memset(d_q, 0, hd * sizeof(float));
        const float* q = base + i * stride + q_off;
        for (int j = 0; j < T; ++j) {
          const float d_score = p[j] * (ds[j] - row_f) * scale;
          k.axpy(d_score, base + j * stride + k_off, d_q, hd);
          k.axpy(d_score, q, d_base + j * stride + k_off, hd);
          k.axpy(p[j], d_o, d_base + j * stride + v_off, hd);
        }
      }
    }
  });
}

}  // namespace trm::train
