// The first `count` lanes of a vector, the one rule every x86 kernel's tails use: an AVX-512
// __mmask16 of 16 lanes, and for AVX2 a ymm whose first lanes of 8 are all ones (for
// maskload / maskstore). Each is defined where its unit's -m flags allow it; static, so each
// unit keeps its own copy (cpu/int8.h says why). Include after <immintrin.h>
// (avx512_intrinsics.h in the AVX-512 units).
#pragma once

#include <cstdint>

namespace trm::cpu {

#if defined(__AVX512F__)
// Lanes [0, count) of 16, count clamped to [0, 16].
static inline __mmask16 first_lanes_avx512(int count) {
  if (count <= 0) return 0;
  if (count >= 16) return static_cast<__mmask16>(0xFFFF);
  return static_cast<__mmask16>((1u << count) - 1u);
}
#endif

#if defined(__AVX2__)
// Sliding window: the 8 lanes starting at kLaneWindow + 8 - count have the first `count` set.
alignas(64) static constexpr int32_t kLaneWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// Lanes [0, count) of 8, count clamped to [0, 8].
static inline __m256i first_lanes_avx2(int count) {
  count = count < 0 ? 0 : (count > 8 ? 8 : count);
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLaneWindow + 8 - count));
}
#endif

}  // namespace trm::cpu
