#include "train/ops.h"

#include <algorithm>
#include <cmath>

namespace trm::train {
namespace {

constexpr size_t kChunk = 4096;  // elements per task for the flat elementwise loops

template <typename Fn>
void for_chunks(ThreadPool& pool, size_t count, Fn&& fn) {
  const int64_t chunks = static_cast<int64_t>((count + kChunk - 1) / kChunk);
  pool.parallel_for(chunks, [&](int64_t b, int64_t e) {
    fn(static_cast<size_t>(b) * kChunk, std::min(count, static_cast<size_t>(e) * kChunk));
  });
}

}  // namespace

void rmsnorm_forward(ThreadPool& pool, float* x, int rows, int cols, float eps, float* inv_rms) {
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float* xr = x + r * cols;
      // Double accumulation, as the scalar reference kernel: no rounding of our own.
      double sum = 0.0;
      for (int j = 0; j < cols; ++j) sum += static_cast<double>(xr[j]) * xr[j];
      const float scale = static_cast<float>(1.0 / std::sqrt(sum / cols + eps));
      for (int j = 0; j < cols; ++j) xr[j] *= scale;
      inv_rms[r] = scale;
    }
  });
}

void rmsnorm_backward(ThreadPool& pool, const float* dy, const float* y, const float* inv_rms, int rows, int cols,
                      float* dx) {
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* dyr = dy + r * cols;
      const float* yr = y + r * cols;
      float* dxr = dx + r * cols;
      double dot = 0.0;
      for (int j = 0; j < cols; ++j) dot += static_cast<double>(dyr[j]) * yr[j];
      const float mean = static_cast<float>(dot / cols), scale = inv_rms[r];
      for (int j = 0; j < cols; ++j) dxr[j] = scale * (dyr[j] - yr[j] * mean);
    }
  });
}

void swiglu_backward(ThreadPool& pool, const float* d_act, const float* gate_up, int rows, int inter,
                     float* d_gate_up) {
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* g = gate_up + r * 2 * inter;
      const float* u = g + inter;
      const float* da = d_act + r * inter;
      float* dg = d_gate_up + r * 2 * inter;
      float* du = dg + inter;
      for (int i = 0; i < inter; ++i) {
        const float sigmoid = 1.f / (1.f + std::exp(-g[i]));
        const float silu = g[i] * sigmoid;
        du[i] = da[i] * silu;
        // silu'(g) = sigmoid(g) * (1 + g * (1 - sigmoid(g)))
        dg[i] = da[i] * u[i] * sigmoid * (1.f + g[i] * (1.f - sigmoid));
      }
    }
  });
}

void rope_forward(const cpu::KernelTable& k, ThreadPool& pool, float* qkv, int rows, int positions, int heads,
                  int head_dim, const float* cos, const float* sin) {
  const size_t stride = 3 * static_cast<size_t>(heads) * head_dim;
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const size_t t = static_cast<size_t>(r % positions);
      // q heads then k heads: 2 * heads vectors of head_dim, contiguous.
      k.rope(qkv + r * stride, 2 * heads, head_dim, cos + t * head_dim, sin + t * head_dim);
    }
  });
}

void rope_backward(ThreadPool& pool, float* d_qkv, int rows, int positions, int heads, int head_dim,
                   const float* cos, const float* sin) {
  const int half = head_dim / 2;
  const size_t stride = 3 * static_cast<size_t>(heads) * head_dim;
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const size_t t = static_cast<size_t>(r % positions);
      const float* c = cos + t * head_dim;
      const float* s = sin + t * head_dim;
      for (int v = 0; v < 2 * heads; ++v) {
        float* d = d_qkv + r * stride + static_cast<size_t>(v) * head_dim;
        for (int i = 0; i < half; ++i) {
          // The forward is y1 = x1 c1 - x2 s1, y2 = x2 c2 + x1 s2; this is its transpose.
          const float d1 = d[i], d2 = d[i + half];
          d[i] = d1 * c[i] + d2 * s[i + half];
          d[i + half] = d2 * c[i + half] - d1 * s[i];
        }
      }
    }
  });
}

void transpose_samples(ThreadPool& pool, const float* src, float* dst, int n, int rows, int cols) {
  const size_t per_sample = static_cast<size_t>(rows) * cols;
  pool.parallel_for(static_cast<int64_t>(n) * rows, [&](int64_t b, int64_t e) {
    for (int64_t unit = b; unit < e; ++unit) {
      const int64_t s = unit / rows;
      const int r = static_cast<int>(unit % rows);
      const float* from = src + s * per_sample + static_cast<size_t>(r) * cols;
      float* to = dst + s * per_sample + r;
      for (int c = 0; c < cols; ++c) to[static_cast<size_t>(c) * rows] = from[c];
    }
  });
}

void add_into(ThreadPool& pool, float* x, const float* y, size_t count) {
  for_chunks(pool, count, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) x[i] += y[i];
  });
}

void add_to(ThreadPool& pool, const float* x, const float* y, float* out, size_t count) {
  for_chunks(pool, count, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) out[i] = x[i] + y[i];
  });
}

}  // namespace trm::train
