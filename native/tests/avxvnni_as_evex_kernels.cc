// kernels_int8_avxvnni.cc compiled with AVX512_VNNI + AVX512VL in place of AVX-VNNI, for
// stand_in_check.cc: its one AVX-VNNI instruction, the VEX-encoded 256-bit vpdpbusd, becomes
// the EVEX encoding of the same instruction (the Intel SDM gives both one Operation: four u8
// x s8 products summed into each int32, no saturation). So the kernel's own code runs, bit for
// bit as written, on a CPU with AVX-512 VNNI but no AVX-VNNI. Its Linear kernel is renamed so
// that it sits beside trm_core's.
#include <immintrin.h>

#define _mm256_dpbusd_avx_epi32 _mm256_dpbusd_epi32
#define gemm_int8_avxvnni_4x16_impl gemm_int8_avxvnni_4x16_evex_impl
#include "cpu/x86/kernels_int8_avxvnni.cc"
