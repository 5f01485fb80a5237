// The real instructions behind the stand-ins (stand_ins.h), built with their ISAs; called only
// where the CPU runs them (stand_in_check.cc checks first).
#include <immintrin.h>

#include "cpu/x86/amx_tiles.h"
#include "tests/stand_ins.h"

namespace trm::tests {

void hardware_dpbf16_ps(const float* src, const uint32_t* a, const uint32_t* b, float* out) {
  _mm512_storeu_ps(out, _mm512_dpbf16_ps(_mm512_loadu_ps(src), (__m512bh)_mm512_loadu_si512(a), (__m512bh)_mm512_loadu_si512(b)));
}

void hardware_cvtne2ps_pbh(const float* a, const float* b, uint16_t* out) {
  _mm512_storeu_si512(out, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(a), _mm512_loadu_ps(b)));
}

void hardware_tile_dp(bool int8, const uint8_t* a, const uint8_t* b, void* c) {
#include "tests/tile_dp_body.inc"
}

}  // namespace trm::tests
