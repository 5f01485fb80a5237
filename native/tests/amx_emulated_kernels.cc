// kernels_amx.cc compiled against the tile-instruction emulation (amx_emulation.h) instead of
// the AMX instructions, for amx_emulated_check.cc. Its two Linear kernels are renamed so that
// they sit beside trm_core's real ones; everything else in it has internal linkage.
#include <immintrin.h>

#include "tests/amx_emulation.h"

#define gemm_bf16_amx_32x32_impl gemm_bf16_amx_32x32_emulated_impl
#define gemm_int8_amx_32x32_impl gemm_int8_amx_32x32_emulated_impl
#include "cpu/x86/kernels_amx.cc"

#include "tests/stand_ins.h"

namespace trm::tests {

void emulated_tile_dp(bool int8, const uint8_t* a, const uint8_t* b, void* c) {
#include "tests/tile_dp_body.inc"
}

}  // namespace trm::tests
