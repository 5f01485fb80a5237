// Weight packing for the GEMM microkernels (layouts described in kernels.h).
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace trm::cpu {

size_t packed_linear_size(int n, int k, int nr) {
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  return panels * static_cast<size_t>(k) * nr;
}

void pack_linear_strided(const float* src, int n, int k, size_t stride_n, size_t stride_k, int nr,
                         float* packed) {
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  // Attention packs per (sample, head) and call, so its two layouts get loops that read the
  // source in order: rows contiguous over k (keys), or panels contiguous over n (values).
  if (stride_n == 1) {
    for (size_t p = 0; p < panels; ++p) {
      const size_t first = p * nr, valid = std::min<size_t>(nr, static_cast<size_t>(n) - first);
      for (int kk = 0; kk < k; ++kk) {
        float* dst = packed + (p * k + kk) * nr;
        std::memcpy(dst, src + kk * stride_k + first, valid * sizeof(float));
        if (valid < static_cast<size_t>(nr)) std::memset(dst + valid, 0, (nr - valid) * sizeof(float));
      }
    }
    return;
  }
  if (stride_k == 1) {
    for (size_t p = 0; p < panels; ++p) {
      float* panel = packed + p * static_cast<size_t>(k) * nr;
      for (int j = 0; j < nr; ++j) {
        const size_t row = p * nr + j;
        if (row < static_cast<size_t>(n)) {
          const float* from = src + row * stride_n;
          for (int kk = 0; kk < k; ++kk) panel[static_cast<size_t>(kk) * nr + j] = from[kk];
        } else {
          for (int kk = 0; kk < k; ++kk) panel[static_cast<size_t>(kk) * nr + j] = 0.f;
        }
      }
    }
    return;
  }
  for (size_t p = 0; p < panels; ++p) {
    float* dst = packed + p * static_cast<size_t>(k) * nr;
    for (int kk = 0; kk < k; ++kk) {
      for (int j = 0; j < nr; ++j) {
        const size_t row = p * nr + j;
        dst[static_cast<size_t>(kk) * nr + j] = row < static_cast<size_t>(n) ? src[row * stride_n + kk * stride_k] : 0.f;
      }
    }
  }
}

void pack_linear(const float* w, int n, int k, int nr, float* packed) {
  pack_linear_strided(w, n, k, static_cast<size_t>(k), 1, nr, packed);
}

size_t packed_linear_bf16_size(int n, int k, int nr) {
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  return panels * static_cast<size_t>((k + 1) / 2) * nr * 2;
}

void pack_linear_bf16_padded(const float* w, int n, int k, int k_padded, int nr, uint16_t* packed) {
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  const int kp = (k_padded + 1) / 2;
  for (size_t p = 0; p < panels; ++p) {
    for (int q = 0; q < kp; ++q) {
      uint16_t* dst = packed + ((p * kp + q) * nr) * 2;
      for (int j = 0; j < nr; ++j) {
        const size_t row = p * nr + j;
        for (int e = 0; e < 2; ++e) {
          const int kk = 2 * q + e;
          dst[j * 2 + e] = row < static_cast<size_t>(n) && kk < k ? bf16_from_f32(w[row * k + kk]) : 0;
        }
      }
    }
  }
}

void pack_linear_bf16(const float* w, int n, int k, int nr, uint16_t* packed) {
  pack_linear_bf16_padded(w, n, k, k, nr, packed);
}

void transpose_rows_generic(const float* src, const float* add_a, const float* add_b, size_t ld_src, int rows, int cols,
                            float* dst, size_t ld_dst) {
  for (int t = 0; t < rows; ++t) {
    const size_t row = static_cast<size_t>(t) * ld_src;
    for (int j = 0; j < cols; ++j) {
      float v = src[row + j];
      if (add_a != nullptr) v += add_b != nullptr ? add_a[row + j] + add_b[row + j] : add_a[row + j];
      dst[static_cast<size_t>(j) * ld_dst + t] = v;
    }
  }
}

void round_rows_to_bf16_values(const float* a, int lda, int m, int k, float* out, int ld_out) {
  for (int i = 0; i < m; ++i) {
    const float* src = a + static_cast<size_t>(i) * lda;
    float* dst = out + static_cast<size_t>(i) * ld_out;
    for (int kk = 0; kk < k; ++kk) dst[kk] = round_to_bf16(src[kk]);
    if (k % 2 != 0) dst[k] = 0.f;
  }
}

}  // namespace trm::cpu
