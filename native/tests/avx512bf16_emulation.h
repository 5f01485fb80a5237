// The two AVX512_BF16 instructions kernels_avx512_bf16.cc uses, in AVX-512F, from the Intel
// SDM's Operation sections, for running that kernel on a CPU without AVX512_BF16
// (avx512bf16_emulated_kernels.cc, stand_in_check.cc). Bit for bit with the hardware on
// normal numbers: vdpbf16ps is two fp32 FMAs a lane (the odd pair's product, then the even
// one's, each rounded to nearest even), and a product of two bf16 values is exact in fp32.
// Denormal inputs are taken as zero and denormal results flushed, as the SDM says.
//
// Include after <immintrin.h>, in a unit built with -mavx512f -mavx512bw -mfma.
#pragma once

#include <immintrin.h>

// Zero (keeping the sign) where the exponent bits are all zero: DAZ on inputs, FTZ on results.
static inline __m512 trm_bf16_flush_denormals(__m512 x) {
  const __m512i bits = _mm512_castps_si512(x);
  const __mmask16 normal = _mm512_test_epi32_mask(bits, _mm512_set1_epi32(0x7f800000));
  return _mm512_castsi512_ps(_mm512_mask_mov_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0x80000000u))),
                                                    normal, bits));
}

// VDPBF16PS: per fp32 lane i, src += a.bf16[2i+1] * b.bf16[2i+1], then += a.bf16[2i] * b.bf16[2i].
static inline __m512 trm_dpbf16_ps_emulated(__m512 src, __m512bh a, __m512bh b) {
  const __m512i ai = reinterpret_cast<__m512i>(a), bi = reinterpret_cast<__m512i>(b);
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  const __m512 a_odd = trm_bf16_flush_denormals(_mm512_castsi512_ps(_mm512_and_si512(ai, high)));
  const __m512 b_odd = trm_bf16_flush_denormals(_mm512_castsi512_ps(_mm512_and_si512(bi, high)));
  const __m512 a_even = trm_bf16_flush_denormals(_mm512_castsi512_ps(_mm512_slli_epi32(ai, 16)));
  const __m512 b_even = trm_bf16_flush_denormals(_mm512_castsi512_ps(_mm512_slli_epi32(bi, 16)));
  const __m512 odd = trm_bf16_flush_denormals(_mm512_fmadd_ps(a_odd, b_odd, trm_bf16_flush_denormals(src)));
  return trm_bf16_flush_denormals(_mm512_fmadd_ps(a_even, b_even, odd));
}

// The SDM's convert_fp32_to_bfloat16 on 16 lanes: NaN made quiet, denormals (and zeros) to a
// signed zero, otherwise round to nearest even.
static inline __m256i trm_fp32_to_bf16_emulated(__m512 x) {
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(magnitude, _mm512_set1_epi32(0x7f800000));
  const __mmask16 denormal = _mm512_testn_epi32_mask(bits, _mm512_set1_epi32(0x7f800000));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40)));
  r = _mm512_mask_mov_epi32(r, denormal, _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x8000)));
  return _mm512_cvtepi32_epi16(r);
}

// VCVTNE2PS2BF16: b's 16 values to the low half, a's to the high.
static inline __m512bh trm_cvtne2ps_pbh_emulated(__m512 a, __m512 b) {
  const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(trm_fp32_to_bf16_emulated(b)), trm_fp32_to_bf16_emulated(a), 1);
  return reinterpret_cast<__m512bh>(both);
}

#define _mm512_dpbf16_ps(src, a, b) trm_dpbf16_ps_emulated(src, a, b)
#define _mm512_cvtne2ps_pbh(a, b) trm_cvtne2ps_pbh_emulated(a, b)
