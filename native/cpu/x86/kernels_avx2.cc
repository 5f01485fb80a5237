// The AVX2 kernel table (isa "avx2", nr = 16). Built only with -mavx2 -mfma (see
// CMakeLists.txt) and called only after dispatch has checked the CPU.
//
// The int8 GEMMs this table may use live in kernels_int8_avx2.cc / kernels_int8_avxvnni.cc;
// bf16 runs as gemm_f32_avx2_6x16 on bf16-rounded values (cpu/linear.h).
//
// GEMM: a 6x16 register tile (two ymm per row: 12 accumulators + 2 panel loads + 1
// broadcast = 15 of the 16 ymm registers), templated on the row count for the m remainder.
// The last, partial panel goes through vmaskmov loads/stores so nothing past column n of c
// is read or written. Elementwise tails use the same masked loads/stores.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "../kernels.h"
#include "../linear.h"
#include "lane_masks.h"

namespace trm::cpu {
namespace {

constexpr int kNr = 16;    // panel width: two ymm of output features
constexpr int kMr = 6;     // rows per register tile
constexpr int kLanes = 8;  // floats per ymm

template <int MR>
inline void gemm_tile_f32_avx2_mrx16(const float* panel, int k, const float* a, int lda, float* c,
                                     int ldc, int valid, bool accumulate) {
  __m256 acc0[MR];
  __m256 acc1[MR];
  for (int i = 0; i < MR; ++i) {
    acc0[i] = _mm256_setzero_ps();
    acc1[i] = _mm256_setzero_ps();
  }
  const float* arow[MR];
  for (int i = 0; i < MR; ++i) arow[i] = a + static_cast<size_t>(i) * lda;

  for (int kk = 0; kk < k; ++kk) {
    const float* b = panel + static_cast<size_t>(kk) * kNr;
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + kLanes);
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(arow[i] + kk);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
  }

  if (valid == kNr) {
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* ci = c + static_cast<size_t>(i) * ldc;
      __m256 r0 = acc0[i];
      __m256 r1 = acc1[i];
      if (accumulate) {
        r0 = _mm256_add_ps(_mm256_loadu_ps(ci), r0);
        r1 = _mm256_add_ps(_mm256_loadu_ps(ci + kLanes), r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + kLanes, r1);
    }
  } else {
    // vmaskmov never touches masked-out lanes, so columns past n may be unmapped.
    const __m256i m0 = first_lanes_avx2(valid);
    const __m256i m1 = first_lanes_avx2(valid - kLanes);
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* ci = c + static_cast<size_t>(i) * ldc;
      __m256 r0 = acc0[i];
      __m256 r1 = acc1[i];
      if (accumulate) {
        r0 = _mm256_add_ps(_mm256_maskload_ps(ci, m0), r0);
        r1 = _mm256_add_ps(_mm256_maskload_ps(ci + kLanes, m1), r1);
      }
      _mm256_maskstore_ps(ci, m0, r0);
      _mm256_maskstore_ps(ci + kLanes, m1, r1);
    }
  }
}

// Rows per cache block: a block of `a` (rows x k floats) is kept to ~192 KB so it stays in L2
// while every panel of the weight streams past it; a multiple of the tile height.
inline int row_block_avx2(int k, int mr) {
  const int rows = (49152 / (k > 0 ? k : 1)) / mr * mr;
  return rows > mr ? rows : mr;
}

// One block of rows [0, m) against every panel: panel outer, row tiles inner.
void gemm_block_f32_avx2(const float* packed, int n, int k, const float* a, int lda, float* c, int ldc,
                         int m, bool accumulate) {
  const int panels = (n + kNr - 1) / kNr;
  const int m_full = m - m % kMr;
  const int m_rem = m % kMr;
  for (int p = 0; p < panels; ++p) {
    const float* panel = packed + static_cast<size_t>(p) * k * kNr;
    const int col = p * kNr;
    const int valid = n - col < kNr ? n - col : kNr;
    float* cp = c + col;
    for (int i = 0; i < m_full; i += kMr) {
      gemm_tile_f32_avx2_mrx16<kMr>(panel, k, a + static_cast<size_t>(i) * lda, lda,
                                    cp + static_cast<size_t>(i) * ldc, ldc, valid, accumulate);
    }
    const float* ar = a + static_cast<size_t>(m_full) * lda;
    float* cr = cp + static_cast<size_t>(m_full) * ldc;
    switch (m_rem) {
      case 5: gemm_tile_f32_avx2_mrx16<5>(panel, k, ar, lda, cr, ldc, valid, accumulate); break;
      case 4: gemm_tile_f32_avx2_mrx16<4>(panel, k, ar, lda, cr, ldc, valid, accumulate); break;
      case 3: gemm_tile_f32_avx2_mrx16<3>(panel, k, ar, lda, cr, ldc, valid, accumulate); break;
      case 2: gemm_tile_f32_avx2_mrx16<2>(panel, k, ar, lda, cr, ldc, valid, accumulate); break;
      case 1: gemm_tile_f32_avx2_mrx16<1>(panel, k, ar, lda, cr, ldc, valid, accumulate); break;
      default: break;
    }
  }
}

void gemm_f32_avx2_6x16(const float* packed, int n, int k, const float* a, int lda, float* c,
                        int ldc, int m, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  const int block = row_block_avx2(k, kMr);
  for (int i0 = 0; i0 < m; i0 += block) {
    const int rows = m - i0 < block ? m - i0 : block;
    gemm_block_f32_avx2(packed, n, k, a + static_cast<size_t>(i0) * lda, lda, c + static_cast<size_t>(i0) * ldc,
                        ldc, rows, accumulate);
  }
}

// 2^n for integer n in [-126, 127], built in the exponent field.
inline __m256 pow2i_f32_avx2(__m256i n) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

// exp(x) to ~1 ulp: x = n*ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in two),
// exp(r) by SLEEF's degree-6 minimax polynomial, then p * 2^n. With x clamped to
// [-104, 89], n lies in [-150, 128]; 2^n is applied as 2^(n/2) * 2^(n - n/2), both normal,
// so the first product is exact and the second rounds once: overflow gives +inf and the
// subnormal range is rounded correctly. The clamp is ordered so a NaN input stays NaN.
inline __m256 exp_f32_avx2(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(89.f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-104.f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.442695040888963407f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
  __m256 u = _mm256_set1_ps(0.000198527617612853646278381f);
  u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(0.00139304355252534151077271f));
  u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(0.00833336077630519866943359f));
  u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(0.0416664853692054748535156f));
  u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(0.166666671633720397949219f));
  u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(0.5f));
  const __m256 p = _mm256_fmadd_ps(_mm256_mul_ps(r, r), u, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  return _mm256_mul_ps(_mm256_mul_ps(p, pow2i_f32_avx2(n1)), pow2i_f32_avx2(n2));
}

// As the scalar reference: g / (1 + exp(-g)) * u with a true division, so g < -88.7 gives
// g / inf = -0 rather than NaN.
inline __m256 silu_mul_f32_avx2_v(__m256 g, __m256 u) {
  const __m256 e = exp_f32_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.f), e)), u);
}

void silu_mul_f32_avx2(const float* gu, int rows, int inter, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* g = gu + static_cast<size_t>(r) * 2 * inter;
    const float* u = g + inter;
    float* o = out + static_cast<size_t>(r) * inter;
    int i = 0;
    for (; i + kLanes <= inter; i += kLanes) {
      _mm256_storeu_ps(o + i, silu_mul_f32_avx2_v(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    }
    if (i < inter) {
      const __m256i mk = first_lanes_avx2(inter - i);
      _mm256_maskstore_ps(
          o + i, mk, silu_mul_f32_avx2_v(_mm256_maskload_ps(g + i, mk), _mm256_maskload_ps(u + i, mk)));
    }
  }
}

// Sum of squares in double, as the scalar reference (a float squared is exact in double),
// and the scale computed exactly as the reference computes it.
inline __m256d square_acc_f64_avx2(__m128 x, __m256d acc) {
  const __m256d d = _mm256_cvtps_pd(x);
  return _mm256_fmadd_pd(d, d, acc);
}

void rmsnorm_rows_f32_avx2(float* x, int rows, int cols, int ld, float eps) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * ld;
    __m256d acc0 = _mm256_setzero_pd();
    __m256d acc1 = _mm256_setzero_pd();
    int j = 0;
    for (; j + kLanes <= cols; j += kLanes) {
      acc0 = square_acc_f64_avx2(_mm_loadu_ps(xr + j), acc0);
      acc1 = square_acc_f64_avx2(_mm_loadu_ps(xr + j + 4), acc1);
    }
    if (j < cols) {
      const __m256 v = _mm256_maskload_ps(xr + j, first_lanes_avx2(cols - j));
      acc0 = square_acc_f64_avx2(_mm256_castps256_ps128(v), acc0);
      acc1 = square_acc_f64_avx2(_mm256_extractf128_ps(v, 1), acc1);
    }
    const __m256d s4 = _mm256_add_pd(acc0, acc1);
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    const double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    const float scale = static_cast<float>(1.0 / std::sqrt(sum / cols + eps));
    const __m256 s = _mm256_set1_ps(scale);
    j = 0;
    for (; j + kLanes <= cols; j += kLanes) {
      _mm256_storeu_ps(xr + j, _mm256_mul_ps(_mm256_loadu_ps(xr + j), s));
    }
    if (j < cols) {
      const __m256i mk = first_lanes_avx2(cols - j);
      _mm256_maskstore_ps(xr + j, mk, _mm256_mul_ps(_mm256_maskload_ps(xr + j, mk), s));
    }
  }
}

void add_f32_avx2(float* x, const float* y, size_t n) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  if (i < n) {
    const __m256i mk = first_lanes_avx2(static_cast<int>(n - i));
    _mm256_maskstore_ps(x + i, mk,
                        _mm256_add_ps(_mm256_maskload_ps(x + i, mk), _mm256_maskload_ps(y + i, mk)));
  }
}

inline float hsum_f32_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Four independent accumulators hide the FMA latency; the summation order therefore
// differs from the scalar reference (compare with a bound, not bit for bit).
float dot_f32_avx2(const float* a, const float* b, int n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps();
  __m256 acc3 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + kLanes <= n; i += kLanes) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __m256i mk = first_lanes_avx2(n - i);
    acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mk), _mm256_maskload_ps(b + i, mk), acc1);
  }
  return hsum_f32_avx2(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

void axpy_f32_avx2(float alpha, const float* x, float* y, int n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  if (i < n) {
    const __m256i mk = first_lanes_avx2(n - i);
    _mm256_maskstore_ps(y + i, mk,
                        _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, mk), _mm256_maskload_ps(y + i, mk)));
  }
}

// This unit is built with -mfma, and GCC contracts a product into the add that uses it
// (intrinsics included) unless something opaque stands between: the empty asm hands the
// rounded product on as an unknown value, so RoPE rounds it as the scalar reference does.
inline __m256 rounded_f32_avx2(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

void rope_f32_avx2(float* x, int vectors, int head_dim, const float* cos, const float* sin) {
  const int half = head_dim / 2;
  for (int v = 0; v < vectors; ++v) {
    float* a = x + static_cast<size_t>(v) * head_dim;
    float* b = a + half;
    for (int j = 0; j < half; j += kLanes) {
      const __m256i mk = first_lanes_avx2(half - j);
      const __m256 x1 = _mm256_maskload_ps(a + j, mk), x2 = _mm256_maskload_ps(b + j, mk);
      const __m256 y1 = _mm256_sub_ps(rounded_f32_avx2(_mm256_mul_ps(x1, _mm256_maskload_ps(cos + j, mk))),
                                      rounded_f32_avx2(_mm256_mul_ps(x2, _mm256_maskload_ps(sin + j, mk))));
      const __m256 y2 = _mm256_add_ps(rounded_f32_avx2(_mm256_mul_ps(x2, _mm256_maskload_ps(cos + half + j, mk))),
                                      rounded_f32_avx2(_mm256_mul_ps(x1, _mm256_maskload_ps(sin + half + j, mk))));
      _mm256_maskstore_ps(a + j, mk, y1);
      _mm256_maskstore_ps(b + j, mk, y2);
    }
  }
}

void pack_rows_f32_avx2(const float* src, int n, int k, size_t stride, float* packed) {
  pack_linear_strided(src, n, k, stride, 1, kNr, packed);
}

inline float hmax_f32_avx2(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// As the AVX-512 softmax (kernels_avx512.cc): the max pass leaves the scores as they are
// (the exp pass recomputes the same scaled product), and four max and four sum accumulators
// keep the add/max latency off the critical path.
void softmax_rows_f32_avx2(float* x, int rows, int cols, int ld, float scale) {
  const __m256 vs = _mm256_set1_ps(scale);
  const int full = cols / kLanes * kLanes;
  const __m256i mk = first_lanes_avx2(cols - full);
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * ld;
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int j = 0;
    for (; j + 4 * kLanes <= full; j += 4 * kLanes) {
      m0 = _mm256_max_ps(m0, _mm256_mul_ps(_mm256_loadu_ps(xr + j), vs));
      m1 = _mm256_max_ps(m1, _mm256_mul_ps(_mm256_loadu_ps(xr + j + kLanes), vs));
      m2 = _mm256_max_ps(m2, _mm256_mul_ps(_mm256_loadu_ps(xr + j + 2 * kLanes), vs));
      m3 = _mm256_max_ps(m3, _mm256_mul_ps(_mm256_loadu_ps(xr + j + 3 * kLanes), vs));
    }
    for (; j < full; j += kLanes) m0 = _mm256_max_ps(m0, _mm256_mul_ps(_mm256_loadu_ps(xr + j), vs));
    float max_value = hmax_f32_avx2(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (j = full; j < cols; ++j) {
      const float v = xr[j] * scale;
      max_value = v > max_value ? v : max_value;
    }
    const __m256 vm = _mm256_set1_ps(max_value);
    const auto exp_at = [&](const float* p) { return exp_f32_avx2(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p), vs), vm)); };
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (j = 0; j + 4 * kLanes <= full; j += 4 * kLanes) {
      const __m256 e0 = exp_at(xr + j), e1 = exp_at(xr + j + kLanes);
      const __m256 e2 = exp_at(xr + j + 2 * kLanes), e3 = exp_at(xr + j + 3 * kLanes);
      _mm256_storeu_ps(xr + j, e0);
      _mm256_storeu_ps(xr + j + kLanes, e1);
      _mm256_storeu_ps(xr + j + 2 * kLanes, e2);
      _mm256_storeu_ps(xr + j + 3 * kLanes, e3);
      s0 = _mm256_add_ps(s0, e0);
      s1 = _mm256_add_ps(s1, e1);
      s2 = _mm256_add_ps(s2, e2);
      s3 = _mm256_add_ps(s3, e3);
    }
    for (; j < full; j += kLanes) {
      const __m256 e = exp_at(xr + j);
      _mm256_storeu_ps(xr + j, e);
      s0 = _mm256_add_ps(s0, e);
    }
    if (full < cols) {
      const __m256 e = exp_f32_avx2(_mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(xr + full, mk), vs), vm));
      _mm256_maskstore_ps(xr + full, mk, e);
      s1 = _mm256_add_ps(s1, _mm256_and_ps(e, _mm256_castsi256_ps(mk)));
    }
    const __m256 inv = _mm256_set1_ps(1.f / hsum_f32_avx2(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))));
    for (j = 0; j < full; j += kLanes) _mm256_storeu_ps(xr + j, _mm256_mul_ps(_mm256_loadu_ps(xr + j), inv));
    if (full < cols) _mm256_maskstore_ps(xr + full, mk, _mm256_mul_ps(_mm256_maskload_ps(xr + full, mk), inv));
  }
}

}  // namespace

// round_rows_to_bf16_values (kernels.h, bf16_from_f32) 8 lanes at a time, bit for bit:
// round to nearest even, subnormals to signed zero, NaN quieted; the tail in scalar.
inline __m256 bf16_values_avx2(__m256 x) {
  const __m256i b = _mm256_castps_si256(x);
  const __m256i mag = _mm256_and_si256(b, _mm256_set1_epi32(0x7fffffff));
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_add_epi32(b, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd));
  const __m256i nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f800000));
  r = _mm256_blendv_epi8(r, _mm256_or_si256(b, _mm256_set1_epi32(0x400000)), nan);
  const __m256i tiny = _mm256_cmpeq_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x7f800000)), _mm256_setzero_si256());
  r = _mm256_blendv_epi8(r, _mm256_and_si256(b, _mm256_set1_epi32(static_cast<int>(0x80000000u))), tiny);
  return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

void round_rows_to_bf16_values_avx2(const float* a, int lda, int m, int k, float* out, int ld_out) {
  for (int i = 0; i < m; ++i) {
    const float* src = a + static_cast<size_t>(i) * lda;
    float* dst = out + static_cast<size_t>(i) * ld_out;
    int kk = 0;
    for (; kk + kLanes <= k; kk += kLanes) _mm256_storeu_ps(dst + kk, bf16_values_avx2(_mm256_loadu_ps(src + kk)));
    for (; kk < k; ++kk) dst[kk] = f32_from_bf16(bf16_from_f32(src[kk]));
    if (k % 2 != 0) dst[k] = 0.f;
  }
}

extern const LinearImpl gemm_f32_avx2_6x16_impl{f32_panels_layout(kNr), run_linear_f32_panels, gemm_f32_avx2_6x16};
extern const LinearImpl gemm_bf16_f32_avx2_6x16_impl{bf16_values_layout(kNr), run_linear_bf16_values,
                                                     gemm_f32_avx2_6x16, round_rows_to_bf16_values_avx2};
const KernelTable* kernels_avx2() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "avx2";
    t.nr = kNr;
    t.gemm = gemm_f32_avx2_6x16;
    t.rmsnorm_rows = rmsnorm_rows_f32_avx2;
    t.silu_mul = silu_mul_f32_avx2;
    t.add = add_f32_avx2;
    t.dot = dot_f32_avx2;
    t.axpy = axpy_f32_avx2;
    t.softmax_rows = softmax_rows_f32_avx2;
    t.rope = rope_f32_avx2;
    t.pack_rows = pack_rows_f32_avx2;
    t.transpose_rows = transpose_rows_generic;
    return t;
  }();
  return &table;
}

}  // namespace trm::cpu
