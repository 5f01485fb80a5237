// gemm_bf16 with vdpbf16ps (AVX512_BF16). The weight is packed in k pairs (kernels.h), so
// one 512-bit load holds 16 output features x 2 consecutive k; each row of `a` is rounded to
// bf16 pairs once per row block, and a pair is broadcast as one 32-bit word. An 8x32 register
// tile: 16 fp32 accumulators, each vdpbf16ps adding two products per lane (64 FLOPs).
#include "avx512_intrinsics.h"

#include "../kernels.h"
#include "../linear.h"
#include "../row_tiles.h"
#include "lane_masks.h"

namespace trm::cpu {
namespace {

constexpr int kNr = 32;
constexpr int kMr = 8;
constexpr int kLanes = 16;

template <int MR>
inline void gemm_tile_bf16_avx512bf16_mrx32(const uint16_t* panel, int kp, const uint32_t* a, int lda,
                                            float* c, int ldc, __mmask16 m0, __mmask16 m1, bool accumulate) {
  __m512 acc0[MR];
  __m512 acc1[MR];
  for (int i = 0; i < MR; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  for (int q = 0; q < kp; ++q) {
    const uint16_t* b = panel + static_cast<size_t>(q) * kNr * 2;
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + kNr);
    for (int i = 0; i < MR; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[static_cast<size_t>(i) * lda + q]));
      acc0[i] = _mm512_dpbf16_ps(acc0[i], ai, b0);
      acc1[i] = _mm512_dpbf16_ps(acc1[i], ai, b1);
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    __m512 r0 = acc0[i];
    __m512 r1 = acc1[i];
    if (accumulate) {
      r0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + kLanes), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + kLanes, m1, r1);
  }
}

// Rounds rows of `a` to bf16 pairs with vcvtne2ps2bf16 (round to nearest even).
void round_rows_bf16_pairs_avx512bf16(const float* a, int lda, int m, int k, uint32_t* out) {
  const int kp = (k + 1) / 2;
  for (int i = 0; i < m; ++i) {
    const float* ai = a + static_cast<size_t>(i) * lda;
    uint32_t* oi = out + static_cast<size_t>(i) * kp;
    int kk = 0;
    for (; kk + 32 <= k; kk += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(ai + kk + 16), _mm512_loadu_ps(ai + kk));
      _mm512_storeu_si512(oi + kk / 2, (__m512i)v);
    }
    if (kk < k) {
      const __m512 lo = _mm512_maskz_loadu_ps(first_lanes_avx512(k - kk), ai + kk);
      const __m512 hi = _mm512_maskz_loadu_ps(first_lanes_avx512(k - kk - 16), ai + kk + 16);
      const __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);
      const int pairs = kp - kk / 2;
      _mm512_mask_storeu_epi32(oi + kk / 2, first_lanes_avx512(pairs), (__m512i)v);
    }
  }
}

inline int row_block(int k) {
  const int rows = (65536 / (k > 0 ? k : 1)) / kMr * kMr;
  return rows > kMr ? rows : kMr;
}

void gemm_bf16_avx512bf16_8x32(const uint16_t* packed, int n, int k, const float* a, int lda, float* c,
                               int ldc, int m, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  const int kp = (k + 1) / 2;
  const int block = row_block(k);
  uint32_t* pairs = static_cast<uint32_t*>(thread_scratch(0, static_cast<size_t>(block) * kp * sizeof(uint32_t)));
  const int panels = (n + kNr - 1) / kNr;
  // Blocks of whole tiles, each of even height (cpu/row_tiles.h), as the fp32 kernel cuts them.
  for_row_blocks(m, block, kMr, [&](int i0, int rows) {
    round_rows_bf16_pairs_avx512bf16(a + static_cast<size_t>(i0) * lda, lda, rows, k, pairs);
    for (int p = 0; p < panels; ++p) {
      const uint16_t* panel = packed + static_cast<size_t>(p) * kp * kNr * 2;
      const int col = p * kNr;
      const int valid = n - col < kNr ? n - col : kNr;
      const __mmask16 m0 = first_lanes_avx512(valid);
      const __mmask16 m1 = first_lanes_avx512(valid - kLanes);
      float* cp = c + static_cast<size_t>(i0) * ldc + col;
      for_row_tiles(rows, kMr, [&](int i, int mr) {
        const uint32_t* ar = pairs + static_cast<size_t>(i) * kp;
        float* cr = cp + static_cast<size_t>(i) * ldc;
        switch (mr) {
        case 8: gemm_tile_bf16_avx512bf16_mrx32<8>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 7: gemm_tile_bf16_avx512bf16_mrx32<7>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 6: gemm_tile_bf16_avx512bf16_mrx32<6>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 5: gemm_tile_bf16_avx512bf16_mrx32<5>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 4: gemm_tile_bf16_avx512bf16_mrx32<4>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 3: gemm_tile_bf16_avx512bf16_mrx32<3>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 2: gemm_tile_bf16_avx512bf16_mrx32<2>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        case 1: gemm_tile_bf16_avx512bf16_mrx32<1>(panel, kp, ar, kp, cr, ldc, m0, m1, accumulate); break;
        default: break;
        }
      });
    }
  });
}

}  // namespace

extern const LinearImpl gemm_bf16_avx512bf16_8x32_impl{
    bf16_pairs_layout(kNr, 1),
    [](const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
      gemm_bf16_avx512bf16_8x32(w.bf16.data(), w.n, w.k, a, lda, c, ldc, m, accumulate);
    }};

}  // namespace trm::cpu
