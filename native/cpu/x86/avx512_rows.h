// A GEMM's activation rows prepared 16 lanes at a time, for the AVX-512 units that need them
// (kernels_avx512.cc, kernels_int8_avx512vnni.cc, kernels_amx.cc): rounding to bf16
// (bf16_from_f32's rule) and quantizing a row to int8 (int8.h's scheme), both bit for bit with
// the scalar reference. Include only from units built with AVX-512 flags; static, so each unit
// keeps its own copy (cpu/int8.h says why).
#pragma once

#include <cstdint>

#include "../int8.h"
#include "avx512_intrinsics.h"
#include "lane_masks.h"

namespace trm::cpu {

// Each lane rounded to its bf16 value (kept as fp32, low half zero), as bf16_from_f32: round
// to nearest even, subnormals to signed zero, NaN quieted.
static inline __m512 bf16_values_avx512(__m512 x) {
  const __m512i b = _mm512_castps_si512(x);
  const __m512i mag = _mm512_and_si512(b, _mm512_set1_epi32(0x7fffffff));
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(b, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd));
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(mag, _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(b, _mm512_set1_epi32(0x400000)));
  const __mmask16 tiny = _mm512_testn_epi32_mask(b, _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(r, tiny, _mm512_and_si512(b, _mm512_set1_epi32(static_cast<int>(0x80000000u))));
  return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
}

// Where a prepared row's value i goes: rows are stored in 64-byte pieces (a tile row's width),
// piece j at out + j * piece_stride. The default 64 stores the row contiguously; the AMX
// kernel passes its tile stride so that each tile's 16 rows lie in one contiguous 1 KB.
static inline uint8_t* row_piece(uint8_t* out, int byte, size_t piece_stride) {
  return out + static_cast<size_t>(byte / 64) * piece_stride + byte % 64;
}

// x[0..k) as bf16 (bf16_from_f32) into out's first 2k bytes (in pieces, as row_piece).
static inline void bf16_row_avx512(const float* x, int k, uint8_t* out, size_t piece_stride = 64) {
  for (int i = 0; i < k; i += 16) {
    const __mmask16 mk = first_lanes_avx512(k - i);
    const __m512i bits = _mm512_castps_si512(bf16_values_avx512(_mm512_maskz_loadu_ps(mk, x + i)));
    _mm512_mask_cvtepi32_storeu_epi16(row_piece(out, 2 * i, piece_stride), mk, _mm512_srli_epi32(bits, 16));
  }
}

// One row quantized by int8.h's scheme (the scale max|x| / 127, returned), each value plus
// `offset` (0: s8; 128: the u8 of vpdpbusd) stored as one byte into q's first k bytes (in
// pieces, as row_piece).
static inline float quantize_row_avx512(const float* x, int k, int32_t offset, uint8_t* q, size_t piece_stride = 64) {
  __m512 vmax = _mm512_setzero_ps();
  for (int i = 0; i < k; i += 16) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_maskz_loadu_ps(first_lanes_avx512(k - i), x + i)));
  const float maxabs = _mm512_reduce_max_ps(vmax);
  const __m512 vinv = _mm512_set1_ps(int8_inverse_scale(maxabs));
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), shift = _mm512_set1_epi32(offset);
  for (int i = 0; i < k; i += 16) {
    const __mmask16 mk = first_lanes_avx512(k - i);
    const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + i), vinv));
    _mm512_mask_cvtepi32_storeu_epi8(row_piece(q, i, piece_stride), mk, _mm512_add_epi32(_mm512_min_epi32(hi, _mm512_max_epi32(lo, v)), shift));
  }
  return maxabs / 127.f;
}

}  // namespace trm::cpu
