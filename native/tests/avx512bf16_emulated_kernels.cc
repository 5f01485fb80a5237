// kernels_avx512_bf16.cc compiled against an AVX-512F emulation of its two AVX512_BF16
// instructions (avx512bf16_emulation.h), for stand_in_check.cc. Its Linear kernel is renamed
// so that it sits beside trm_core's real one.
#include <immintrin.h>

#include "tests/avx512bf16_emulation.h"

#define gemm_bf16_avx512bf16_8x32_impl gemm_bf16_avx512bf16_8x32_emulated_impl
#include "cpu/x86/kernels_avx512_bf16.cc"

#include "tests/stand_ins.h"

namespace trm::tests {

void emulated_dpbf16_ps(const float* src, const uint32_t* a, const uint32_t* b, float* out) {
  _mm512_storeu_ps(out, _mm512_dpbf16_ps(_mm512_loadu_ps(src), (__m512bh)_mm512_loadu_si512(a), (__m512bh)_mm512_loadu_si512(b)));
}

void emulated_cvtne2ps_pbh(const float* a, const float* b, uint16_t* out) {
  _mm512_storeu_si512(out, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(a), _mm512_loadu_ps(b)));
}

}  // namespace trm::tests
