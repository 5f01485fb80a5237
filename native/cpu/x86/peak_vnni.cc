// The AVX512_VNNI peak loop (built with -mavx512vnni; called only after peak.cc checked the
// CPU): independent vpdpbusd chains, 64 u8 x s8 multiply-adds (128 integer ops) each.
#include "avx512_intrinsics.h"

#include <chrono>

#include "../peak.h"

namespace trm::cpu {
namespace {

constexpr int kChains = 12;
constexpr long kInner = 1 << 14;

volatile int g_sink;

}  // namespace

double dot_loop_int8_avx512vnni(double seconds) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  const auto start = std::chrono::steady_clock::now();
  double ops = 0;
  do {
    for (long it = 0; it < kInner; ++it) {
      #pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    }
    ops += 2.0 * 64 * kChains * kInner;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  __m512i sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  g_sink = _mm512_reduce_add_epi32(sum);
  return ops;
}

}  // namespace trm::cpu
