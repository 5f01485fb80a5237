// gemm_int8_avx512vnni_8x32: the int8 GEMM (int8.h) with vpdpbusd (AVX512_VNNI). Built with
// -mavx512f -mavx512bw -mavx512vl -mavx512vnni; the "avx512" table uses it only when
// dispatch reports AVX512_VNNI.
//
// vpdpbusd multiplies unsigned bytes by signed bytes, four per int32 lane, and adds the four
// products to the lane without saturation (vpdpbusds would saturate; it is not used). The
// activations are stored shifted to u8 = q_x + 128 (in [1, 255]), so a lane accumulates
// sum (q_x + 128) q_w = acc + 128 * sum_k q_w; the epilogue subtracts 128 * col_sum(W),
// packed with the weight. Every partial sum stays below 255 * 127 * k < 2^31 for k < 66000:
// exact.
//
// Layout {nr 32, k quads}: one 128-byte row per k quad holds 32 features x 4 k values (two
// zmm); an 8x32 register tile (16 accumulators, 2 weight vectors, the broadcast quad).
#include "avx512_intrinsics.h"

#include <algorithm>
#include <cmath>

#include "../int8.h"
#include "../linear.h"
#include "avx512_rows.h"
#include "int8_x86.h"
#include "lane_masks.h"

namespace trm::cpu {
namespace {

constexpr int kNr = 32;
constexpr int kMr = 8;

// One row quantized, shifted to u8 and packed four per int32 word; the k tail up to kg
// quads is 128 (q = 0; the weight there is zero anyway).
float quantize_row_u8_avx512(const float* x, int k, int kg, int32_t* out) {
  uint8_t* q = reinterpret_cast<uint8_t*>(out);
  const float scale = quantize_row_avx512(x, k, 128, q);
  for (int i = k; i < 4 * kg; ++i) q[i] = 128;
  return scale;
}

template <int MR>
inline void gemm_tile_int8_avx512vnni_mrx32(const int8_t* panel, int kg, const int32_t* a, int lda, const float* sx,
                                            const float* sw, const int32_t* col_sums, float* c, int ldc, int valid,
                                            bool accumulate, const int8_t* prefetch, int prefetch_lines) {
  __m512i acc0[MR], acc1[MR];
  for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm512_setzero_si512();
  for (int g = 0; g < kg; ++g) {
    const int8_t* b = panel + static_cast<size_t>(g) * kNr * 4;
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 64);
    if (g < prefetch_lines) _mm_prefetch(reinterpret_cast<const char*>(prefetch + static_cast<size_t>(g) * 64), _MM_HINT_T1);
    for (int i = 0; i < MR; ++i) {
      const __m512i ai = _mm512_set1_epi32(a[static_cast<size_t>(i) * lda + g]);
      acc0[i] = _mm512_dpbusd_epi32(acc0[i], ai, b0);
      acc1[i] = _mm512_dpbusd_epi32(acc1[i], ai, b1);
    }
  }
  const __mmask16 m0 = first_lanes_avx512(valid), m1 = first_lanes_avx512(valid - 16);
  const __m512 sw0 = _mm512_maskz_loadu_ps(m0, sw), sw1 = _mm512_maskz_loadu_ps(m1, sw + 16);
  const __m512i shift0 = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m0, col_sums), 7);
  const __m512i shift1 = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m1, col_sums + 16), 7);
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    const __m512 s = _mm512_set1_ps(sx[i]);
    __m512 y0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc0[i], shift0)), _mm512_mul_ps(s, sw0));
    __m512 y1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc1[i], shift1)), _mm512_mul_ps(s, sw1));
    if (accumulate) {
      y0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), y0);
      y1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), y1);
    }
    _mm512_mask_storeu_ps(ci, m0, y0);
    _mm512_mask_storeu_ps(ci + 16, m1, y1);
  }
}

// The kernel gemm_int8_blocked (int8_x86.h) drives.
struct Avx512VnniInt8 {
  static constexpr int kNr = ::trm::cpu::kNr;
  static constexpr int kMr = ::trm::cpu::kMr;
  static constexpr int kKGroup = 4;
  static constexpr bool kColSums = true;
  static float quantize_row(const float* x, int k, int kg, int32_t* words) { return quantize_row_u8_avx512(x, k, kg, words); }
  template <int MR>
  static void tile(const Int8Tile& t) { gemm_tile_int8_avx512vnni_mrx32<MR>(t.panel, t.kg, t.rows, t.kg, t.sx, t.sw, t.col_sums, t.c, t.ldc, t.valid, t.accumulate, t.prefetch, t.prefetch_lines); }
};

}  // namespace

extern const LinearImpl gemm_int8_avx512vnni_8x32_impl = int8_linear_impl<Avx512VnniInt8>();

}  // namespace trm::cpu
