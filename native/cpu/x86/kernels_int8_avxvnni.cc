// gemm_int8_avxvnni_4x16: the int8 GEMM (int8.h) with the 256-bit, VEX-encoded vpdpbusd of
// AVX-VNNI (Alder Lake and later cores, Sapphire Rapids, Zen 5). Built with -mavx2 -mfma
// -mavxvnni; the "avx2" table uses it only when dispatch reports AVX-VNNI.
//
// The same u8 x s8 scheme as the AVX-512 VNNI kernel (kernels_int8_avx512vnni.cc): u8 =
// q_x + 128, no saturation (vpdpbusd, not vpdpbusds), 128 * col_sum(W) subtracted in the
// epilogue. Layout {nr 16, k quads}: one 64-byte row per k quad (two ymm); a 4x16 tile.
//
// Run in its own encoding on Intel Xeon family 6 model 167 (2026-12-02, as 6x16) and on AMD
// EPYC family 26 (Zen 5, 2026-12-02, as 4x16): the op harness and
// test/native/int8-kernels.test.ts, bit for bit with the scalar kernel. On CPUs without
// AVX-VNNI its tests skip and native/tests/stand_in_check.cc runs this code with the EVEX
// form of the same instruction (AVX512_VNNI + VL).
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
// Four rows, not six: a 6x16 tile's twelve accumulators, two B vectors and the broadcast
// A word fill 15 of the 16 ymm registers, and GCC 12 spilled accumulators to the stack and
// copied the rest around every vpdpbusd (seen in the object code). Side by side on AMD EPYC
// family 26 (Zen 5, which has AVX-VNNI; one thread, the "avx2" table's kernel), 4x16 ran
// 1.32-2.00x the 6x16's GOP/s at the bench shapes (97 to 776 rows, k 256 to 1536). The avx2
// int8 kernel keeps 6x16: at 4x16 it ran 0.78-1.03x.
constexpr int kMr = 4;

// One row quantized (the scalar rule, element by element: it is exact either way) and
// shifted to u8, four per int32 word; the tail up to kg quads is 128 (q = 0).
float quantize_row_u8_avxvnni(const float* x, int k, int kg, int32_t* out) {
  float maxabs = 0.f;
  for (int i = 0; i < k; ++i) maxabs = std::max(maxabs, std::fabs(x[i]));
  const float inv = int8_inverse_scale(maxabs);
  uint8_t* q = reinterpret_cast<uint8_t*>(out);
  for (int i = 0; i < k; ++i) q[i] = static_cast<uint8_t>(int8_round_clamp(x[i] * inv) + 128);
  for (int i = k; i < 4 * kg; ++i) q[i] = 128;
  return maxabs / 127.f;
}

template <int MR>
inline void gemm_tile_int8_avxvnni_mrx16(const int8_t* panel, int kg, const int32_t* a, int lda, const float* sx,
                                         const float* sw, const int32_t* col_sums, float* c, int ldc, int valid,
                                         bool accumulate) {
  __m256i acc0[MR], acc1[MR];
  for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm256_setzero_si256();
  for (int g = 0; g < kg; ++g) {
    const int8_t* b = panel + static_cast<size_t>(g) * kNr * 4;
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
    for (int i = 0; i < MR; ++i) {
      const __m256i ai = _mm256_set1_epi32(a[static_cast<size_t>(i) * lda + g]);
      acc0[i] = _mm256_dpbusd_avx_epi32(acc0[i], ai, b0);
      acc1[i] = _mm256_dpbusd_avx_epi32(acc1[i], ai, b1);
    }
  }
  const __m256i m0 = first_lanes_avx2(valid), m1 = first_lanes_avx2(valid - 8);
  const __m256 sw0 = _mm256_maskload_ps(sw, m0), sw1 = _mm256_maskload_ps(sw + 8, m1);
  const __m256i shift0 = _mm256_slli_epi32(_mm256_maskload_epi32(col_sums, m0), 7);
  const __m256i shift1 = _mm256_slli_epi32(_mm256_maskload_epi32(col_sums + 8, m1), 7);
  for (int i = 0; i < MR; ++i) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    const __m256 s = _mm256_set1_ps(sx[i]);
    __m256 y0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc0[i], shift0)), _mm256_mul_ps(s, sw0));
    __m256 y1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc1[i], shift1)), _mm256_mul_ps(s, sw1));
    if (accumulate) {
      y0 = _mm256_add_ps(_mm256_maskload_ps(ci, m0), y0);
      y1 = _mm256_add_ps(_mm256_maskload_ps(ci + 8, m1), y1);
    }
    _mm256_maskstore_ps(ci, m0, y0);
    _mm256_maskstore_ps(ci + 8, m1, y1);
  }
}

// The kernel gemm_int8_blocked (int8_x86.h) drives.
struct AvxVnniInt8 {
  static constexpr int kNr = ::trm::cpu::kNr;
  static constexpr int kMr = ::trm::cpu::kMr;
  static constexpr int kKGroup = 4;
  static constexpr bool kColSums = true;
  static float quantize_row(const float* x, int k, int kg, int32_t* words) { return quantize_row_u8_avxvnni(x, k, kg, words); }
  template <int MR>
  static void tile(const Int8Tile& t) { gemm_tile_int8_avxvnni_mrx16<MR>(t.panel, t.kg, t.rows, t.kg, t.sx, t.sw, t.col_sums, t.c, t.ldc, t.valid, t.accumulate); }
};

}  // namespace

extern const LinearImpl gemm_int8_avxvnni_4x16_impl = int8_linear_impl<AvxVnniInt8>();

}  // namespace trm::cpu
