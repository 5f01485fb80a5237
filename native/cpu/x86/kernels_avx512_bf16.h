// The vdpbf16ps GEMM of the "avx512" table, in its own translation unit because only it is
// built with -mavx512bf16; the table uses it only when dispatch reports AVX512_BF16.
#pragma once

#include <cstdint>

#include "../kernels.h"

namespace trm::cpu {

void gemm_bf16_avx512bf16_8x32(const uint16_t* packed, int n, int k, const float* a, int lda, float* c,
                               int ldc, int m, bool accumulate);

// The fp32-FMA bf16 GEMM the "avx512" table uses on CPUs without AVX512_BF16, exposed so
// the kernel tests can check it on CPUs that have the extension too.
GemmBf16Fn gemm_bf16_avx512_emulated();

}  // namespace trm::cpu
