// Choosing a kernel table: once, at model load, by what this CPU supports; forceable by
// name (the `isa` option, or TRM_ISA in the environment) for tests and for users.
#pragma once

#include <string>
#include <vector>

#include "kernels.h"

namespace trm::cpu {

// ISAs compiled into this binary that this CPU and OS can run, best first ("scalar" last).
std::vector<std::string> supported_isas();

// The table for `isa`, or nullptr if it is unknown, not compiled in, or not supported here.
const KernelTable* find_kernels(const std::string& isa);

// Whether this CPU runs AVX512_BF16 (vdpbf16ps) on top of the "avx512" table's ISA.
bool cpu_has_avx512_bf16();

// gemm_bf16 by name for the kernel tests: an ISA's own, or "avx512-emulated" (the fp32-FMA
// variant the avx512 table falls back to without AVX512_BF16); nullptr where unavailable.
GemmBf16Fn find_gemm_bf16(const std::string& name);

// The best supported table, unless TRM_ISA names another (an unusable TRM_ISA is ignored
// by this function; the binding reports it as an error instead).
const KernelTable& default_kernels();

}  // namespace trm::cpu
