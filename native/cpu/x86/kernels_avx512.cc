// The AVX-512 kernel table (isa "avx512", nr = 32). Built only with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma (see CMakeLists.txt) and called
// only after dispatch has checked the CPU, so nothing outside this file needs those flags.
//
// GEMM: an 8x32 register tile (two zmm per row, 16 accumulators), templated on the row
// count: a call's rows go in L2-sized blocks of whole tiles of at most 8 rows, of even height;
// the n remainder is handled by masked loads/stores, so nothing past column n is read from
// or written to c, and a last panel of at most 16 columns runs on one zmm a row.
// Elementwise kernels handle their tails with masks rather than scalar loops.
#include "avx512_intrinsics.h"

#include <algorithm>
#include <cmath>

#include "../kernels.h"
#include "../linear.h"
#include "../row_tiles.h"
#include "avx512_math.h"
#include "avx512_rows.h"
#include "lane_masks.h"

namespace trm::cpu {
namespace {

constexpr int kNr = 32;     // panel width: two zmm of output features
constexpr int kLanes = 16;  // floats per zmm

// One MR x 32 tile of c over the whole k extent of one packed panel. `m0`/`m1` mask the
// two 16-column halves of the tile (all ones except in the last, partial panel). HALVES = 1
// computes only the first half, for a last panel of at most 16 columns (n = 97: mlp_t's token
// down projection and attention's QK^T at Sudoku size, where a panel of one column cost a
// full one). The first half's lanes get the same FMAs in the same order either way: the same
// bits. On Zen 4 (family 25 model 17, one thread, side by side) 512x97x512, 97x97x64 and
// 4096x97x512 ran 1.13-1.15x as fast; a whole Sudoku-size mlp_t step read 1.005x (median of
// six alternating process pairs), inside this host's noise.
template <int MR, int HALVES>
inline void gemm_tile_f32_avx512_mrx32(const float* panel, int k, const float* a, int lda,
                                       float* c, int ldc, __mmask16 m0, __mmask16 m1,
                                       bool accumulate, const float* prefetch, int prefetch_lines) {
  __m512 acc0[MR];
  __m512 acc1[MR];
  for (int i = 0; i < MR; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  const float* arow[MR];
  for (int i = 0; i < MR; ++i) arow[i] = a + static_cast<size_t>(i) * lda;

  for (int kk = 0; kk < k; ++kk) {
    const float* b = panel + static_cast<size_t>(kk) * kNr;
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = HALVES == 2 ? _mm512_loadu_ps(b + kLanes) : _mm512_setzero_ps();
    if (kk < prefetch_lines) _mm_prefetch(reinterpret_cast<const char*>(prefetch + static_cast<size_t>(kk) * kLanes), _MM_HINT_T1);
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(arow[i][kk]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      if constexpr (HALVES == 2) acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }

  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    __m512 r0 = acc0[i];
    __m512 r1 = acc1[i];
    if (accumulate) {
      // Masked loads: lanes past column n are never touched (they may be unmapped).
      r0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), r0);
      if constexpr (HALVES == 2) r1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + kLanes), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    if constexpr (HALVES == 2) _mm512_mask_storeu_ps(ci + kLanes, m1, r1);
  }
}

// Rows per cache block: a block of `a` (rows x k floats) is kept to ~512 KB so it stays in L2
// (1 MB on Zen 4, 2 MB on Sapphire/Emerald Rapids) while every panel of the weight streams
// past it; a multiple of the tile height. Every block streams the whole weight once more,
// so a Sudoku-size sample (97 rows) is one block at k = 512 (at ~192 KB it was two).
inline int row_block_avx512(int k, int mr) {
  const int rows = (131072 / (k > 0 ? k : 1)) / mr * mr;
  return rows > mr ? rows : mr;
}

// The MR x 32 tile for a run-time row count mr <= MR.
template <int MR, int HALVES>
inline void gemm_tile_f32_avx512_upto(int mr, const float* panel, int k, const float* a, int lda, float* c, int ldc,
                                      __mmask16 m0, __mmask16 m1, bool accumulate, const float* prefetch,
                                      int prefetch_lines) {
  if (mr == MR) {
    gemm_tile_f32_avx512_mrx32<MR, HALVES>(panel, k, a, lda, c, ldc, m0, m1, accumulate, prefetch, prefetch_lines);
  } else if constexpr (MR > 1) {
    gemm_tile_f32_avx512_upto<MR - 1, HALVES>(mr, panel, k, a, lda, c, ldc, m0, m1, accumulate, prefetch, prefetch_lines);
  }
}

// One block of rows [0, m) against every panel: panel outer, row tiles inner, so one panel
// (k*32 floats) stays in L1/L2 while the block's rows stream past it.
template <int MaxMr>
void gemm_block_f32_avx512(const float* packed, int n, int k, const float* a, int lda, float* c, int ldc,
                           int m, bool accumulate) {
  const int panels = (n + kNr - 1) / kNr;
  const int tiles = (m + MaxMr - 1) / MaxMr;
  for (int p = 0; p < panels; ++p) {
    const float* panel = packed + static_cast<size_t>(p) * k * kNr;
    const int col = p * kNr;
    const int valid = n - col < kNr ? n - col : kNr;
    const __mmask16 m0 = first_lanes_avx512(valid);
    const __mmask16 m1 = first_lanes_avx512(valid - kLanes);
    // The tiles of this panel share out pulling the next panel into L2, a few lines each,
    // while they compute, at most one line per k step. A layer's weights do not fit in L2,
    // so without it the first tile of every panel waited on L3 or memory line by line: a
    // Sudoku-size step ran ~25% slower than its GEMMs alone. Side by side on Intel f6 m207,
    // 1 thread, batch 1: 1.17x (attention), 1.19x (mlp_t), 1.03x (long, whose weights
    // nearly fit in L2).
    const float* next = panel + static_cast<size_t>(k) * kNr;
    const int lines = p + 1 < panels ? 2 * k : 0;  // the next panel: k x 32 floats, 16 a line
    const int per_tile = (lines + tiles - 1) / tiles;
    int t = 0;
    for_row_tiles(m, MaxMr, [&](int i, int mr) {
      const int first = std::min(t * per_tile, lines);
      const int count = std::min({per_tile, lines - first, k});
      ++t;
      const float* ai = a + static_cast<size_t>(i) * lda;
      float* ci = c + static_cast<size_t>(i) * ldc + col;
      const float* fetch = next + static_cast<size_t>(first) * kLanes;
      if (valid <= kLanes) {
        gemm_tile_f32_avx512_upto<MaxMr, 1>(mr, panel, k, ai, lda, ci, ldc, m0, m1, accumulate, fetch, count);
      } else {
        gemm_tile_f32_avx512_upto<MaxMr, 2>(mr, panel, k, ai, lda, ci, ldc, m0, m1, accumulate, fetch, count);
      }
    });
  }
}

// Rows in L2-sized blocks of whole tiles (cpu/row_tiles.h).
template <int MaxMr>
void gemm_f32_avx512_rows(const float* packed, int n, int k, const float* a, int lda, float* c, int ldc, int m,
                          bool accumulate) {
  if (m <= 0 || n <= 0) return;
  for_row_blocks(m, row_block_avx512(k, MaxMr), MaxMr, [&](int i0, int rows) {
    gemm_block_f32_avx512<MaxMr>(packed, n, k, a + static_cast<size_t>(i0) * lda, lda,
                                 c + static_cast<size_t>(i0) * ldc, ldc, rows, accumulate);
  });
}

// 8 x 32: 16 accumulators. 12 x 32: 24 accumulators + 2 panel vectors + 1 broadcast of the
// 32 zmm, a third fewer panel loads per FMA, meant for cores with two 512-bit FMA ports
// (Intel). kernel_list.inc says which table prefers which (12 x 32 on the amx table, where
// it measured faster; 8 x 32 elsewhere: on Zen 4, family 25 model 17, one thread, the two
// side by side at the Sudoku-size and long shapes, 12 x 32 took 1.00-1.09x the time of 8 x 32,
// which ran at 83-94% of the fp32 peak). Both sum every output in the same k order with the
// same FMAs: the same bits.
void gemm_f32_avx512_8x32(const float* packed, int n, int k, const float* a, int lda, float* c, int ldc, int m,
                          bool accumulate) {
  gemm_f32_avx512_rows<8>(packed, n, k, a, lda, c, ldc, m, accumulate);
}

void gemm_f32_avx512_12x32(const float* packed, int n, int k, const float* a, int lda, float* c, int ldc, int m,
                           bool accumulate) {
  gemm_f32_avx512_rows<12>(packed, n, k, a, lda, c, ldc, m, accumulate);
}

void silu_mul_f32_avx512(const float* gu, int rows, int inter, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* g = gu + static_cast<size_t>(r) * 2 * inter;
    const float* u = g + inter;
    float* o = out + static_cast<size_t>(r) * inter;
    int i = 0;
    for (; i + kLanes <= inter; i += kLanes) {
      _mm512_storeu_ps(o + i, silu_mul_f32_avx512_v(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
    }
    if (i < inter) {
      const __mmask16 mk = first_lanes_avx512(inter - i);
      _mm512_mask_storeu_ps(
          o + i, mk,
          silu_mul_f32_avx512_v(_mm512_maskz_loadu_ps(mk, g + i), _mm512_maskz_loadu_ps(mk, u + i)));
    }
  }
}

// The sum of squares is accumulated in double, as the scalar reference does (a float
// squared is exact in double), so the scale matches the reference to the last bit in
// nearly every case; the scale itself is computed exactly as the reference computes it.
inline __m512d square_acc_f64_avx512(__m256 x, __m512d acc) {
  const __m512d d = _mm512_cvtps_pd(x);
  return _mm512_fmadd_pd(d, d, acc);
}

void rmsnorm_rows_f32_avx512(float* x, int rows, int cols, int ld, float eps) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * ld;
    __m512d acc0 = _mm512_setzero_pd();
    __m512d acc1 = _mm512_setzero_pd();
    int j = 0;
    for (; j + kLanes <= cols; j += kLanes) {
      acc0 = square_acc_f64_avx512(_mm256_loadu_ps(xr + j), acc0);
      acc1 = square_acc_f64_avx512(_mm256_loadu_ps(xr + j + 8), acc1);
    }
    if (j < cols) {
      const __m512 v = _mm512_maskz_loadu_ps(first_lanes_avx512(cols - j), xr + j);
      acc0 = square_acc_f64_avx512(_mm512_castps512_ps256(v), acc0);
      acc1 = square_acc_f64_avx512(
          _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)), acc1);
    }
    const double sum = _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
    const float scale = static_cast<float>(1.0 / std::sqrt(sum / cols + eps));
    const __m512 s = _mm512_set1_ps(scale);
    j = 0;
    for (; j + kLanes <= cols; j += kLanes) {
      _mm512_storeu_ps(xr + j, _mm512_mul_ps(_mm512_loadu_ps(xr + j), s));
    }
    if (j < cols) {
      const __mmask16 mk = first_lanes_avx512(cols - j);
      _mm512_mask_storeu_ps(xr + j, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + j), s));
    }
  }
}

void add_f32_avx512(float* x, const float* y, size_t n) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm512_storeu_ps(x + i, _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    const __mmask16 mk = first_lanes_avx512(static_cast<int>(n - i));
    _mm512_mask_storeu_ps(x + i, mk,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(mk, x + i), _mm512_maskz_loadu_ps(mk, y + i)));
  }
}

// Four independent accumulators hide the FMA latency; the summation order therefore
// differs from the scalar reference (compare with a bound, not bit for bit).
float dot_f32_avx512(const float* a, const float* b, int n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps();
  __m512 acc3 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + kLanes <= n; i += kLanes) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __mmask16 mk = first_lanes_avx512(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), _mm512_maskz_loadu_ps(mk, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

void axpy_f32_avx512(float alpha, const float* x, float* y, int n) {
  const __m512 va = _mm512_set1_ps(alpha);
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    const __mmask16 mk = first_lanes_avx512(n - i);
    _mm512_mask_storeu_ps(y + i, mk,
                          _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(mk, x + i), _mm512_maskz_loadu_ps(mk, y + i)));
  }
}

// Three passes per row: the max of the scaled scores, exp(scaled - max) stored and summed,
// then the division by the sum as a multiply. The first pass stores nothing; for a
// positive scale (attention's 1/sqrt(head_dim)) it takes the max of the raw scores and
// scales that, the same value since rounding is monotonic: the max of the rounded products
// is the rounded product of the max. Four max and four sum accumulators keep the add/max
// latency off the critical path (a single chain held the row at ~19 cycles a vector, Intel
// f6 m207), which only changes the order in which the sum is added up.
void softmax_rows_f32_avx512(float* x, int rows, int cols, int ld, float scale) {
  const __m512 vs = _mm512_set1_ps(scale);
  const int full = cols / kLanes * kLanes, tail = cols - full;
  const __mmask16 mk = first_lanes_avx512(tail);
  // The max of f(x) over a row, f the identity or the scaling.
  const auto row_max = [&](const float* xr, auto f) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int j = 0;
    for (; j + 4 * kLanes <= full; j += 4 * kLanes) {
      m0 = _mm512_max_ps(m0, f(_mm512_loadu_ps(xr + j)));
      m1 = _mm512_max_ps(m1, f(_mm512_loadu_ps(xr + j + kLanes)));
      m2 = _mm512_max_ps(m2, f(_mm512_loadu_ps(xr + j + 2 * kLanes)));
      m3 = _mm512_max_ps(m3, f(_mm512_loadu_ps(xr + j + 3 * kLanes)));
    }
    for (; j < full; j += kLanes) m0 = _mm512_max_ps(m0, f(_mm512_loadu_ps(xr + j)));
    if (tail) m1 = _mm512_mask_max_ps(m1, mk, m1, f(_mm512_maskz_loadu_ps(mk, xr + full)));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
  };
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * ld;
    const float max_value = scale > 0.f ? row_max(xr, [](__m512 v) { return v; }) * scale
                                        : row_max(xr, [&](__m512 v) { return _mm512_mul_ps(v, vs); });
    const __m512 vm = _mm512_set1_ps(max_value);
    const auto exp_at = [&](const float* p) {
      return exp_below_89_f32_avx512(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(p), vs), vm));
    };
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int j = 0;
    for (; j + 4 * kLanes <= full; j += 4 * kLanes) {
      const __m512 e0 = exp_at(xr + j), e1 = exp_at(xr + j + kLanes);
      const __m512 e2 = exp_at(xr + j + 2 * kLanes), e3 = exp_at(xr + j + 3 * kLanes);
      _mm512_storeu_ps(xr + j, e0);
      _mm512_storeu_ps(xr + j + kLanes, e1);
      _mm512_storeu_ps(xr + j + 2 * kLanes, e2);
      _mm512_storeu_ps(xr + j + 3 * kLanes, e3);
      s0 = _mm512_add_ps(s0, e0);
      s1 = _mm512_add_ps(s1, e1);
      s2 = _mm512_add_ps(s2, e2);
      s3 = _mm512_add_ps(s3, e3);
    }
    for (; j < full; j += kLanes) {
      const __m512 e = exp_at(xr + j);
      _mm512_storeu_ps(xr + j, e);
      s0 = _mm512_add_ps(s0, e);
    }
    if (tail) {
      const __m512 e = exp_below_89_f32_avx512(_mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + full), vs), vm));
      _mm512_mask_storeu_ps(xr + full, mk, e);
      s1 = _mm512_mask_add_ps(s1, mk, s1, e);
    }
    const __m512 inv = _mm512_set1_ps(1.f / _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))));
    for (j = 0; j < full; j += kLanes) _mm512_storeu_ps(xr + j, _mm512_mul_ps(_mm512_loadu_ps(xr + j), inv));
    if (tail) _mm512_mask_storeu_ps(xr + full, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + full), inv));
  }
}

// The embedded-rounding forms are builtins, not vector arithmetic, so GCC (this unit has
// -mfma) cannot contract a product into the add after it: each rounds once, as the scalar
// reference does.
constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

void rope_f32_avx512(float* x, int vectors, int head_dim, const float* cos, const float* sin) {
  const int half = head_dim / 2;
  for (int v = 0; v < vectors; ++v) {
    float* a = x + static_cast<size_t>(v) * head_dim;
    float* b = a + half;
    for (int j = 0; j < half; j += kLanes) {
      const __mmask16 mk = first_lanes_avx512(half - j);
      const __m512 x1 = _mm512_maskz_loadu_ps(mk, a + j), x2 = _mm512_maskz_loadu_ps(mk, b + j);
      const __m512 y1 = _mm512_sub_round_ps(_mm512_mul_round_ps(x1, _mm512_maskz_loadu_ps(mk, cos + j), kNearest),
                                            _mm512_mul_round_ps(x2, _mm512_maskz_loadu_ps(mk, sin + j), kNearest), kNearest);
      const __m512 y2 =
          _mm512_add_round_ps(_mm512_mul_round_ps(x2, _mm512_maskz_loadu_ps(mk, cos + half + j), kNearest),
                              _mm512_mul_round_ps(x1, _mm512_maskz_loadu_ps(mk, sin + half + j), kNearest), kNearest);
      _mm512_mask_storeu_ps(a + j, mk, y1);
      _mm512_mask_storeu_ps(b + j, mk, y2);
    }
  }
}

// r[c] becomes column c of the 16 x 16 block whose rows were r[0..15]: pairs, then quads
// within each 128-bit lane, then the lanes across rows.
inline void transpose_16x16_f32_avx512(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  __m512 u[16];  // u[4g + j], lane l: column 4l + j of rows 4g..4g+3
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 lo01 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44), hi01 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE);
    const __m512 lo23 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44), hi23 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
    r[j] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
    r[8 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
  }
}

// Each panel's two halves of 16 rows in 16 x 16 blocks through registers: the generic loop
// stores one float at a time, 32 floats apart (attention packs its keys every call).
void pack_rows_f32_avx512(const float* src, int n, int k, size_t stride, float* packed) {
  const int panels = (n + kNr - 1) / kNr;
  for (int p = 0; p < panels; ++p) {
    float* panel = packed + static_cast<size_t>(p) * k * kNr;
    for (int half = 0; half < 2; ++half) {
      const int row0 = p * kNr + half * kLanes;
      const int rows = std::max(0, std::min(kLanes, n - row0));
      for (int k0 = 0; k0 < k; k0 += kLanes) {
        const int cols = std::min(kLanes, k - k0);
        const __mmask16 mk = first_lanes_avx512(cols);
        __m512 r[16];
        for (int i = 0; i < kLanes; ++i) {
          r[i] = i < rows ? _mm512_maskz_loadu_ps(mk, src + static_cast<size_t>(row0 + i) * stride + k0) : _mm512_setzero_ps();
        }
        transpose_16x16_f32_avx512(r);
        for (int c = 0; c < cols; ++c) _mm512_storeu_ps(panel + static_cast<size_t>(k0 + c) * kNr + half * kLanes, r[c]);
      }
    }
  }
}

}  // namespace

// KernelTable::transpose_rows in 16 x 16 blocks: 16 source rows loaded (masked to the block's
// columns, the additions made as the generic version makes them), turned around in registers
// (pairs of rows interleaved, then groups of four, then 128-bit lanes twice), and stored as
// 16 destination rows (masked to the block's source rows).
void transpose_rows_f32_avx512(const float* src, const float* add_a, const float* add_b, size_t ld_src, int rows,
                               int cols, float* dst, size_t ld_dst) {
  for (int j0 = 0; j0 < cols; j0 += kLanes) {
    const __mmask16 in_cols = first_lanes_avx512(cols - j0);
    const int out_rows = std::min(kLanes, cols - j0);
    for (int t0 = 0; t0 < rows; t0 += kLanes) {
      const int in_rows = std::min(kLanes, rows - t0);
      __m512 r[kLanes];
      for (int i = 0; i < kLanes; ++i) {
        if (i >= in_rows) {
          r[i] = _mm512_setzero_ps();
          continue;
        }
        const size_t at = static_cast<size_t>(t0 + i) * ld_src + j0;
        __m512 v = _mm512_maskz_loadu_ps(in_cols, src + at);
        if (add_a != nullptr) {
          const __m512 a = _mm512_maskz_loadu_ps(in_cols, add_a + at);
          v = _mm512_add_ps(v, add_b != nullptr ? _mm512_add_ps(a, _mm512_maskz_loadu_ps(in_cols, add_b + at)) : a);
        }
        r[i] = v;
      }
      __m512 u[kLanes];
      for (int i = 0; i < kLanes; i += 2) {
        u[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        u[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
      }
      for (int i = 0; i < kLanes; i += 4) {
        r[i] = _mm512_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(u[i + 1], u[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(u[i + 1], u[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
      // r[4g + c]: column c (+4 per 128-bit lane) of source rows 4g .. 4g + 3.
      for (int i = 0; i < 4; ++i) {
        u[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        u[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        u[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        u[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
      }
      for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_f32x4(u[i], u[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(u[i], u[i + 8], 0xdd);
      }
      // r[j]: column j of the block, source rows t0 .. t0 + 15.
      const __mmask16 live = first_lanes_avx512(in_rows);
      for (int j = 0; j < out_rows; ++j) _mm512_mask_storeu_ps(dst + static_cast<size_t>(j0 + j) * ld_dst + t0, live, r[j]);
    }
  }
}

// round_rows_to_bf16_values (kernels.h, bf16_from_f32) 16 lanes at a time, bit for bit
// (avx512_rows.h).
void round_rows_to_bf16_values_avx512(const float* a, int lda, int m, int k, float* out, int ld_out) {
  for (int i = 0; i < m; ++i) {
    const float* src = a + static_cast<size_t>(i) * lda;
    float* dst = out + static_cast<size_t>(i) * ld_out;
    for (int kk = 0; kk < k; kk += kLanes) {
      const __mmask16 mk = first_lanes_avx512(k - kk);
      _mm512_mask_storeu_ps(dst + kk, mk, bf16_values_avx512(_mm512_maskz_loadu_ps(mk, src + kk)));
    }
    if (k % 2 != 0) dst[k] = 0.f;
  }
}

extern const LinearImpl gemm_f32_avx512_8x32_impl{f32_panels_layout(kNr), run_linear_f32_panels,
                                                  gemm_f32_avx512_8x32};
extern const LinearImpl gemm_f32_avx512_12x32_impl{f32_panels_layout(kNr), run_linear_f32_panels,
                                                   gemm_f32_avx512_12x32};
extern const LinearImpl gemm_bf16_f32_avx512_8x32_impl{bf16_values_layout(kNr), run_linear_bf16_values,
                                                       gemm_f32_avx512_8x32, round_rows_to_bf16_values_avx512};

const KernelTable* kernels_avx512() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "avx512";
    t.nr = kNr;
    t.gemm = gemm_f32_avx512_8x32;
    t.rmsnorm_rows = rmsnorm_rows_f32_avx512;
    t.silu_mul = silu_mul_f32_avx512;
    t.add = add_f32_avx512;
    t.dot = dot_f32_avx512;
    t.axpy = axpy_f32_avx512;
    t.softmax_rows = softmax_rows_f32_avx512;
    t.rope = rope_f32_avx512;
    t.pack_rows = pack_rows_f32_avx512;
    t.transpose_rows = transpose_rows_f32_avx512;
    return t;
  }();
  return &table;
}

}  // namespace trm::cpu
