// gemm_int8_avx2_6x16: the int8 GEMM (int8.h) on AVX2. Built with -mavx2 -mfma; dispatch
// calls it only on CPUs with AVX2 (the "avx2" table without AVX-VNNI, and the "avx512"
// table without AVX512_VNNI).
//
// The u8 x s8 trap: vpmaddubsw adds two u8 x s8 products into a *saturating* int16, and
// (q_x + 128) * 127 * 2 = 64770 does not fit. This kernel never uses it: both operands are
// sign-extended to int16 (weights by vpmovsxbw at load, activations at quantization) and
// multiplied with vpmaddwd, which adds each pair of int16 products into an int32 lane. A
// pair is at most 2 * 127 * 127 = 32258 in magnitude, and the int32 accumulator holds
// 16129 * k exactly for k < 133000, so nothing saturates or wraps (tested at q = +-127
// everywhere).
//
// Layout {nr 16, k pairs}: one 32-byte row per k pair holds 16 features x 2 k values; a
// 6x16 register tile (12 accumulators + 2 weight vectors + 1 broadcast pair).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "../int8.h"
#include "../linear.h"
#include "int8_x86.h"
#include "lane_masks.h"

namespace trm::cpu {
namespace {

constexpr int kNr = 16;
constexpr int kMr = 6;

// One row quantized to int16 pairs packed in int32 words (k padded with zeros to kg pairs).
float quantize_row_pairs_avx2(const float* x, int k, int kg, int32_t* out) {
  __m256 vmax = _mm256_setzero_ps();
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  int i = 0;
  for (; i + 8 <= k; i += 8) vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float maxabs = 0.f;
  for (float v : lanes) maxabs = std::max(maxabs, v);
  for (; i < k; ++i) maxabs = std::max(maxabs, std::fabs(x[i]));
  const float inv = int8_inverse_scale(maxabs);
  const __m256 vinv = _mm256_set1_ps(inv);
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  int16_t* q = reinterpret_cast<int16_t*>(out);
  i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m256i a = _mm256_min_epi32(hi, _mm256_max_epi32(lo, _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv))));
    const __m256i b = _mm256_min_epi32(hi, _mm256_max_epi32(lo, _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), vinv))));
    // packs interleaves 128-bit lanes (a0-3 b0-3 a4-7 b4-7); the permute restores k order.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
  }
  for (; i < k; ++i) q[i] = static_cast<int16_t>(int8_round_clamp(x[i] * inv));
  for (; i < 2 * kg; ++i) q[i] = 0;
  return maxabs / 127.f;
}

template <int MR>
inline void gemm_tile_int8_avx2_mrx16(const int8_t* panel, int kg, const int32_t* a, int lda, const float* sx,
                                      const float* sw, float* c, int ldc, int valid, bool accumulate) {
  __m256i acc0[MR], acc1[MR];
  for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm256_setzero_si256();
  for (int g = 0; g < kg; ++g) {
    const int8_t* b = panel + static_cast<size_t>(g) * kNr * 2;
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16)));
    for (int i = 0; i < MR; ++i) {
      const __m256i ai = _mm256_set1_epi32(a[static_cast<size_t>(i) * lda + g]);
      acc0[i] = _mm256_add_epi32(acc0[i], _mm256_madd_epi16(ai, b0));
      acc1[i] = _mm256_add_epi32(acc1[i], _mm256_madd_epi16(ai, b1));
    }
  }
  const __m256i m0 = first_lanes_avx2(valid), m1 = first_lanes_avx2(valid - 8);
  const __m256 sw0 = _mm256_maskload_ps(sw, m0), sw1 = _mm256_maskload_ps(sw + 8, m1);
  for (int i = 0; i < MR; ++i) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    const __m256 s = _mm256_set1_ps(sx[i]);
    __m256 y0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc0[i]), _mm256_mul_ps(s, sw0));
    __m256 y1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc1[i]), _mm256_mul_ps(s, sw1));
    if (accumulate) {
      y0 = _mm256_add_ps(_mm256_maskload_ps(ci, m0), y0);
      y1 = _mm256_add_ps(_mm256_maskload_ps(ci + 8, m1), y1);
    }
    _mm256_maskstore_ps(ci, m0, y0);
    _mm256_maskstore_ps(ci + 8, m1, y1);
  }
}

// The kernel gemm_int8_blocked (int8_x86.h) drives.
struct Avx2Int8 {
  static constexpr int kNr = ::trm::cpu::kNr;
  static constexpr int kMr = ::trm::cpu::kMr;
  static constexpr int kKGroup = 2;
  static constexpr bool kColSums = false;
  static float quantize_row(const float* x, int k, int kg, int32_t* words) { return quantize_row_pairs_avx2(x, k, kg, words); }
  template <int MR>
  static void tile(const Int8Tile& t) { gemm_tile_int8_avx2_mrx16<MR>(t.panel, t.kg, t.rows, t.kg, t.sx, t.sw, t.c, t.ldc, t.valid, t.accumulate); }
};

}  // namespace

extern const LinearImpl gemm_int8_avx2_6x16_impl = int8_linear_impl<Avx2Int8>();

}  // namespace trm::cpu
