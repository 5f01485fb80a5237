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
  trm::cpu::load_tile_config();
  _tile_loadd(0, c, 64);
  _tile_loadd(4, a, 64);
  _tile_loadd(6, b, 64);
  if (int8) {
    _tile_dpbssd(0, 4, 6);
  } else {
    _tile_dpbf16ps(0, 4, 6);
  }
  _tile_stored(0, c, 64);
  _tile_release();
}

}  // namespace trm::tests
