// Choosing a kernel table: once, at model load, by what this CPU supports; forceable by
// name (the `isa` option, or TRM_ISA in the environment) for tests and for users. The
// tables, their order and their GEMMs come from one list, kernel_list.inc.
#pragma once

#include <string>
#include <vector>

#include "kernels.h"
#include "linear.h"

namespace trm::cpu {

// ISAs compiled into this binary that this CPU and OS can run, best first ("scalar" last).
std::vector<std::string> supported_isas();

// The complete table for `isa` (its Linear kernels chosen), or nullptr if it is unknown,
// not compiled in, or not supported here.
const KernelTable* find_kernels(const std::string& isa);

// The best supported table, unless TRM_ISA names another (an unusable TRM_ISA is ignored
// by this function; the binding reports it as an error instead).
const KernelTable& default_kernels();

// Why the best table of the list ("amx") does not run here; empty when it does.
const std::string& why_not_amx();

// Bytes of intermediates a thread carries through a chain of operations (core/forward.cc):
// 512 KB where L2 is 1 MB or less (Zen 4, where it was tuned: bench/results/amd-epyc-f25m17.md);
// 4 MB with a 2 MB+ L2 (Sapphire/Emerald Rapids), where the weights' reuse across the chunk's
// rows paid more than keeping every intermediate in L2 (measured on Emerald Rapids,
// bench/results/).
long chain_chunk_bytes();

// Whether this CPU runs AVX512_BF16 (vdpbf16ps) on top of the "avx512" table's ISA.
bool cpu_has_avx512_bf16();
bool cpu_has_avx512_vnni();
// AMX-TILE + AMX-BF16 (+ AMX-INT8 for `int8`) in CPUID and the tile data granted by the OS.
bool cpu_runs_amx(bool int8);

// A TRM_GEMM entry of kernel_list.inc and whether this CPU runs it.
struct LinearKernelEntry {
  LinearKernel kernel;
  bool runs;
};
// Every entry compiled into this binary, in list order.
const std::vector<LinearKernelEntry>& linear_kernels();
// The entry named `name` that runs here (any table), or nullptr.
const LinearKernel* find_linear_kernel(const std::string& name);

// The Linear kernel of `table` for `dtype`.
const LinearKernel& linear_kernel(const KernelTable& table, LinearDtype dtype);

}  // namespace trm::cpu
