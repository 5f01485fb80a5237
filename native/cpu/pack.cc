// Weight packing for the GEMM microkernels (layout described in kernels.h).
#include <cstring>

#include "kernels.h"

namespace trm::cpu {

size_t packed_linear_size(int n, int k, int nr) {
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  return panels * static_cast<size_t>(k) * nr;
}

void pack_linear(const float* w, int n, int k, int nr, float* packed) {
  const size_t panels = (static_cast<size_t>(n) + nr - 1) / nr;
  for (size_t p = 0; p < panels; ++p) {
    float* dst = packed + p * static_cast<size_t>(k) * nr;
    for (int kk = 0; kk < k; ++kk) {
      for (int j = 0; j < nr; ++j) {
        const size_t row = p * nr + j;
        dst[static_cast<size_t>(kk) * nr + j] = row < static_cast<size_t>(n) ? w[row * k + kk] : 0.f;
      }
    }
  }
}

}  // namespace trm::cpu
