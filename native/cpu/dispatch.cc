#include "dispatch.h"

#include <cstdlib>

#if defined(TRM_HAVE_X86_KERNELS)
#include "x86/kernels_avx512_bf16.h"
#endif

namespace trm::cpu {

#if !defined(TRM_HAVE_X86_KERNELS)
const KernelTable* kernels_avx2() { return nullptr; }
const KernelTable* kernels_avx512() { return nullptr; }
#endif

namespace {

bool cpu_runs(const std::string& isa) {
#if defined(TRM_HAVE_X86_KERNELS)
  // libgcc's CPU probe also checks that the OS saves the wider registers (XGETBV).
  __builtin_cpu_init();
  if (isa == "avx512") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
  }
  if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == "scalar";
}

const KernelTable* compiled(const std::string& isa) {
  if (isa == "scalar") return &kernels_scalar();
  if (isa == "avx2") return kernels_avx2();
  if (isa == "avx512") return kernels_avx512();
  return nullptr;
}

}  // namespace

bool cpu_has_avx512_bf16() {
#if defined(TRM_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  return cpu_runs("avx512") && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

GemmBf16Fn find_gemm_bf16(const std::string& name) {
#if defined(TRM_HAVE_X86_KERNELS)
  if (name == "avx512-emulated") return cpu_runs("avx512") ? gemm_bf16_avx512_emulated() : nullptr;
#endif
  const KernelTable* table = find_kernels(name);
  return table ? table->gemm_bf16 : nullptr;
}

std::vector<std::string> supported_isas() {
  std::vector<std::string> out;
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (compiled(isa) && cpu_runs(isa)) out.emplace_back(isa);
  }
  return out;
}

const KernelTable* find_kernels(const std::string& isa) {
  const KernelTable* table = compiled(isa);
  return table && cpu_runs(isa) ? table : nullptr;
}

const KernelTable& default_kernels() {
  if (const char* forced = std::getenv("TRM_ISA")) {
    if (const KernelTable* table = find_kernels(forced)) return *table;
  }
  return *find_kernels(supported_isas().front());
}

}  // namespace trm::cpu
