// gemm_bf16 with vdpbf16ps (AVX512_BF16). The weight is packed in k pairs (kernels.h), so
// one 512-bit load holds 16 output features x 2 consecutive k; each row of `a` is rounded to
// bf16 pairs once per row block, and a pair is broadcast as one 32-bit word. An 8x32 register
// tile: 16 fp32 accumulators, each vdpbf16ps adding two products per lane (64 FLOPs).
#include "avx512_intrinsics.h"

#include <cmath>
#include <cstring>

#include "../attention.h"
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

// Flattened (every call inside it inlined): called from both the Linear and attention_head,
// GCC 12 put the 8-row tile out of line, and the Linear GEMM alone ran 0.87-1.00x its former
// GFLOP/s (AMD EPYC family 26, side by side, one thread).
__attribute__((flatten)) void gemm_bf16_avx512bf16_8x32(const uint16_t* packed, int n, int k, const float* a, int lda,
                                                        float* c, int ldc, int m, bool accumulate) {
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

// Attention of one head with vdpbf16ps (LinearImpl::attention_head), for bf16 models, as the
// AMX kernel's (kernels_amx.cc) in this kernel's layout: per call the keys are packed as
// QK^T's weight (panels of 32 keys, one word per pair of head dims) and the values as PV's
// (panels of 32 head dims, one word per pair of keys), each value rounded to bf16 once, zero
// past the ends. Then, a block of query rows at a time, the GEMM above rounds the queries to
// bf16 pairs for QK^T (fp32 scores), the table's softmax runs on the fp32 scores, and the GEMM
// rounds the probabilities to bf16 pairs for PV. The fp32 path (cpu/attention.h) is the same
// except for those roundings. Side by side with the fp32 attention of the same bf16 model
// (AMD EPYC family 26, Zen 5; per-round ratios): 1.11-1.13x a long step (400 positions, 1
// and 2 threads, batch 1 and 8), 1.01-1.03x a Sudoku attention step (97). From 64 positions,
// the AMX kernel's threshold (measured there); shorter sequences were not timed here.
constexpr int kAttentionMinLen = 64;

void attention_head_bf16_avx512bf16(const float* qkv, size_t stride, int hidden, int T, int head_dim,
                                    void (*softmax_rows)(float* x, int rows, int cols, int ld, float scale), float* out,
                                    int ldo) {
  const int qk_pairs = (head_dim + 1) / 2, pv_pairs = (T + 1) / 2;
  const int key_panels = (T + kNr - 1) / kNr, dim_panels = (head_dim + kNr - 1) / kNr;
  const size_t keys_words = static_cast<size_t>(key_panels) * qk_pairs * kNr;
  const size_t values_words = static_cast<size_t>(dim_panels) * pv_pairs * kNr;
  const int block = attention_query_block_rows(T, kMr);
  uint32_t* keys = static_cast<uint32_t*>(thread_scratch(
      3, (keys_words + values_words + static_cast<size_t>(qk_pairs) + static_cast<size_t>(block) * T) * sizeof(uint32_t)));
  uint32_t* values = keys + keys_words;
  uint32_t* key_row = values + values_words;  // one key's dims as bf16 pairs
  float* scores = reinterpret_cast<float*>(key_row + qk_pairs);
  // Keys: word (panel p, pair q, lane l) holds dims 2 q and 2 q + 1 of key 32 p + l.
  std::memset(keys, 0, keys_words * sizeof(uint32_t));
  for (int j = 0; j < T; ++j) {
    round_rows_bf16_pairs_avx512bf16(qkv + static_cast<size_t>(j) * stride + hidden, 0, 1, head_dim, key_row);
    uint32_t* lane = keys + static_cast<size_t>(j / kNr) * qk_pairs * kNr + j % kNr;
    for (int q = 0; q < qk_pairs; ++q) lane[static_cast<size_t>(q) * kNr] = key_row[q];
  }
  // Values: word (panel p, pair q, lane l) holds dim 32 p + l of keys 2 q (low half) and
  // 2 q + 1. vcvtne2ps2bf16 gives the first key's 16 dims then the second's; the permutation
  // interleaves them into pairs.
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                              21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const float* v = qkv + 2 * static_cast<size_t>(hidden);
  for (int p = 0; p < dim_panels; ++p) {
    for (int half = 0; half < 2; ++half) {
      const int d0 = p * kNr + half * kLanes;
      const __mmask16 dims = first_lanes_avx512(head_dim - d0);
      for (int q = 0; q < pv_pairs; ++q) {
        const int j = 2 * q;
        const __m512 lo = _mm512_maskz_loadu_ps(dims, v + static_cast<size_t>(j) * stride + d0);
        const __m512 hi = j + 1 < T ? _mm512_maskz_loadu_ps(dims, v + static_cast<size_t>(j + 1) * stride + d0) : _mm512_setzero_ps();
        const __m512i pairs = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        _mm512_storeu_si512(values + (static_cast<size_t>(p) * pv_pairs + q) * kNr + half * kLanes, pairs);
      }
    }
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  for (int t0 = 0; t0 < T; t0 += block) {
    const int rows = std::min(block, T - t0);
    gemm_bf16_avx512bf16_8x32(reinterpret_cast<const uint16_t*>(keys), T, head_dim, qkv + static_cast<size_t>(t0) * stride,
                              static_cast<int>(stride), scores, T, rows, false);
    softmax_rows(scores, rows, T, T, scale);
    gemm_bf16_avx512bf16_8x32(reinterpret_cast<const uint16_t*>(values), head_dim, T, scores, T,
                              out + static_cast<size_t>(t0) * ldo, ldo, rows, false);
  }
}

}  // namespace

extern const LinearImpl gemm_bf16_avx512bf16_8x32_impl{
    bf16_pairs_layout(kNr, 1),
    [](const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
      gemm_bf16_avx512bf16_8x32(w.bf16.data(), w.n, w.k, a, lda, c, ldc, m, accumulate);
    },
    nullptr, nullptr, nullptr, nullptr, attention_head_bf16_avx512bf16, kAttentionMinLen};

}  // namespace trm::cpu
