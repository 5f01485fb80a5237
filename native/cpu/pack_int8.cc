// The int8 scheme's quantizers (int8.h) and the weight packing for each int8 GEMM layout.
#include <algorithm>
#include <cmath>

#include "int8.h"

namespace trm::cpu {

void quantize_weight_int8(const float* w, int n, int k, int8_t* q, float* scales) {
  for (int o = 0; o < n; ++o) {
    const float* row = w + static_cast<size_t>(o) * k;
    int8_t* qrow = q + static_cast<size_t>(o) * k;
    float maxabs = 0.f;
    for (int i = 0; i < k; ++i) maxabs = std::max(maxabs, std::fabs(row[i]));
    if (maxabs == 0.f) {
      scales[o] = 1.f;
      std::fill(qrow, qrow + k, static_cast<int8_t>(0));
      continue;
    }
    scales[o] = maxabs / 127.f;
    const float inv = int8_inverse_scale(maxabs);
    for (int i = 0; i < k; ++i) qrow[i] = static_cast<int8_t>(int8_round_clamp(row[i] * inv));
  }
}

float quantize_row_int8(const float* x, int k, int8_t* q) {
  float maxabs = 0.f;
  for (int i = 0; i < k; ++i) maxabs = std::max(maxabs, std::fabs(x[i]));
  const float inv = int8_inverse_scale(maxabs);
  for (int i = 0; i < k; ++i) q[i] = static_cast<int8_t>(int8_round_clamp(x[i] * inv));
  return maxabs / 127.f;
}

Int8Weights pack_linear_int8(const float* w, int n, int k, const Int8Layout& layout) {
  Int8Weights out;
  out.n = n;
  out.k = k;
  const int g = layout.k_group, nr = layout.nr;
  const int groups = (k + g - 1) / g;
  out.kg = (groups + layout.kg_multiple - 1) / layout.kg_multiple * layout.kg_multiple;
  std::vector<int8_t> q(static_cast<size_t>(n) * k);
  out.scales.resize(n);
  quantize_weight_int8(w, n, k, q.data(), out.scales.data());
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  out.data.assign(panels * out.kg * nr * g, 0);
  for (int o = 0; o < n; ++o) {
    const size_t p = o / nr, j = o % nr;
    const int8_t* qrow = q.data() + static_cast<size_t>(o) * k;
    for (int i = 0; i < k; ++i) {
      const size_t group = i / g, e = i % g;
      out.data[((p * out.kg + group) * nr + j) * g + e] = qrow[i];
    }
  }
  if (layout.col_sums) {
    out.col_sums.resize(n);
    for (int o = 0; o < n; ++o) {
      int32_t sum = 0;
      for (int i = 0; i < k; ++i) sum += q[static_cast<size_t>(o) * k + i];
      out.col_sums[o] = sum;
    }
  }
  return out;
}

}  // namespace trm::cpu
