// The AVX2+FMA peak loop (built with -mavx2 -mfma; called only after peak.cc checked the
// CPU): twelve independent ymm accumulator chains, so the loop is throughput-bound.
#include <immintrin.h>

#include <chrono>

#include "../peak.h"

namespace trm::cpu {
namespace {
volatile float g_sink;
}

double fma_loop_f32_avx2(double seconds) {
  constexpr int kChains = 12;
  constexpr long kInner = 1 << 14;
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-4f);
  const auto start = std::chrono::steady_clock::now();
  double flops = 0;
  do {
    for (long it = 0; it < kInner; ++it) {
      #pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    flops += 2.0 * 8 * kChains * kInner;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  g_sink = lanes[0] + lanes[7];
  return flops;
}

}  // namespace trm::cpu
