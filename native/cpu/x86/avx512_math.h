// The AVX-512 transcendental pieces shared by the units that need the same bits: exp for
// softmax and SiLU (kernels_avx512.cc) and silu(g) * u, which the AVX-512 table's silu_mul
// and the AMX GEMM's fused SwiGLU epilogue (kernels_amx.cc) both compute, so the two paths
// agree bit for bit (no product here feeds a sum, so no FMA contraction can differ between
// units built with and without -ffp-contract=off). Include only from units built with
// AVX-512 flags; static, so each unit keeps its own copy (cpu/int8.h says why).
#pragma once

#include "avx512_intrinsics.h"

namespace trm::cpu {

// exp(x) to ~1 ulp: x = n*ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in two so n*ln2_hi
// is exact), exp(r) by SLEEF's degree-6 minimax polynomial, then scalef(p, n) = p * 2^n,
// which overflows to +inf and underflows through the subnormals correctly on its own.
// The clamps only keep n finite for huge |x|; they are ordered so a NaN input stays NaN.
// This form takes x <= 89 (or NaN) and skips the upper clamp: softmax's arguments are <= 0.
static inline __m512 exp_below_89_f32_avx512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.442695040888963407f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 u = _mm512_set1_ps(0.000198527617612853646278381f);
  u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(0.00139304355252534151077271f));
  u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(0.00833336077630519866943359f));
  u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(0.0416664853692054748535156f));
  u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(0.166666671633720397949219f));
  u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(0.5f));
  // 1 + r + r^2 * u, adding the small terms first.
  const __m512 p = _mm512_fmadd_ps(_mm512_mul_ps(r, r), u, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

static inline __m512 exp_f32_avx512(__m512 x) { return exp_below_89_f32_avx512(_mm512_min_ps(_mm512_set1_ps(89.f), x)); }

// silu(g) * u written as the scalar reference writes it, g / (1 + exp(-g)) * u, with a true
// division: exp(-g) = +inf for g < -88.7 gives g / inf = -0 (no NaN), and for g > 88 it is
// tiny, so silu(g) = g.
static inline __m512 silu_mul_f32_avx512_v(__m512 g, __m512 u) {
  const __m512 e = exp_f32_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.f), e)), u);
}

}  // namespace trm::cpu
