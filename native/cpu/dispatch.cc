#include "dispatch.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

#if defined(__linux__) && defined(TRM_HAVE_X86_KERNELS)
#include <sys/syscall.h>
#endif

namespace trm::cpu {

#if defined(TRM_HAVE_X86_KERNELS)
#define TRM_CPU(feature) (__builtin_cpu_init(), __builtin_cpu_supports(feature))
#else
const KernelTable* kernels_avx2() { return nullptr; }
const KernelTable* kernels_avx512() { return nullptr; }
#define TRM_CPU(feature) false
#endif

// Every microkernel's LinearImpl, defined in its own translation unit.
#define TRM_ISA(name, check)
#define TRM_GEMM(name, table, dtype, mr, nr, lanes, label, check, prefer) extern const LinearImpl name##_impl;
#include "kernel_list.inc"
#undef TRM_ISA
#undef TRM_GEMM

namespace {

// Linux gives a process the AMX tile data (8 KB of extra XSAVE state) only once asked
// (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA = 18); without it the first tile
// instruction faults. Asked once per process; the answer is checked with ARCH_GET_XCOMP_PERM.
bool amx_tiles_granted() {
#if defined(__linux__) && defined(TRM_HAVE_X86_KERNELS)
  static const bool granted = [] {
    constexpr long kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXtileData = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXtileData) != 0) return false;
    unsigned long features = 0;
    if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &features) != 0) return false;
    return (features & (1ul << kXtileData)) != 0;
  }();
  return granted;
#else
  return false;
#endif
}

// vdpbf16ps is used only where it runs at twice the fp32 FMA rate (AMD Zen 4 and 5, measured:
// bench/results/); Intel cores without AMX run it at about half the fp32 FLOP rate
// (issue 11's bench), where fp32 FMAs on bf16-rounded values compute the same products faster.
bool vdpbf16ps_full_rate() {
#if defined(TRM_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  return __builtin_cpu_is("amd");
#else
  return false;
#endif
}

struct IsaEntry {
  const char* name;
  bool (*runs)();
};

const IsaEntry kIsas[] = {
#define TRM_ISA(name, check) {#name, [] { return static_cast<bool>(check); }},
#define TRM_GEMM(name, table, dtype, mr, nr, lanes, label, check, prefer)
#include "kernel_list.inc"
#undef TRM_ISA
#undef TRM_GEMM
};

struct GemmEntry {
  LinearKernel kernel;
  bool (*runs)();
  bool (*preferred)();
};

constexpr LinearDtype f32 = LinearDtype::kF32, bf16 = LinearDtype::kBf16, int8 = LinearDtype::kInt8;

const GemmEntry kGemms[] = {
#define TRM_ISA(name, check)
#define TRM_GEMM(name, table, dtype, mr, nr, lanes, label, check, prefer)                  \
  {{#name, #table, dtype, mr, nr, lanes, label, &name##_impl}, [] { return static_cast<bool>(check); }, \
   [] { return static_cast<bool>(prefer); }},
#include "kernel_list.inc"
#undef TRM_ISA
#undef TRM_GEMM
};

bool isa_runs(const char* isa) {
  for (const IsaEntry& e : kIsas) {
    if (std::strcmp(e.name, isa) == 0) return e.runs();
  }
  return false;
}

// The table as its translation unit fills it; "amx" is the avx512 table with AMX GEMMs.
const KernelTable* base_table(const std::string& isa) {
  if (isa == "scalar") return &kernels_scalar();
  if (isa == "avx2") return kernels_avx2();
  if (isa == "avx512" || isa == "amx") return kernels_avx512();
  return nullptr;
}

const LinearKernel* first_running(const char* table, LinearDtype dtype) {
  for (const GemmEntry& e : kGemms) {
    if (std::strcmp(e.kernel.table, table) == 0 && e.kernel.dtype == dtype && e.runs() && e.preferred()) return &e.kernel;
  }
  return nullptr;
}

struct Resolved {
  std::string name;
  KernelTable table;
};

// Every runnable table, complete, built once.
const std::vector<Resolved>& resolved_tables() {
  static const std::vector<Resolved> tables = [] {
    std::vector<Resolved> out;
    for (const IsaEntry& e : kIsas) {
      const KernelTable* base = base_table(e.name);
      if (base == nullptr || !e.runs()) continue;
      Resolved r{e.name, *base};
      r.table.isa = e.name;
      r.table.linear_f32 = first_running(e.name, f32);
      r.table.linear_bf16 = first_running(e.name, bf16);
      r.table.linear_int8 = first_running(e.name, int8);
      if (!r.table.linear_f32 || !r.table.linear_bf16 || !r.table.linear_int8) continue;
      r.table.gemm = r.table.linear_f32->impl->f32_gemm;
      out.push_back(std::move(r));
    }
    return out;
  }();
  return tables;
}

}  // namespace

bool cpu_has_avx512_bf16() { return isa_runs("avx512") && TRM_CPU("avx512bf16"); }
bool cpu_has_avx512_vnni() { return isa_runs("avx512") && TRM_CPU("avx512vnni"); }
bool cpu_runs_amx(bool int8_too) { return isa_runs("amx") && (!int8_too || TRM_CPU("amx-int8")); }

long chain_chunk_bytes() {
  static const long bytes = [] {
#if defined(_SC_LEVEL2_CACHE_SIZE)
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#else
    const long l2 = 0;
#endif
    return l2 >= 2 * 1024 * 1024 ? 4L * 1024 * 1024 : 512L * 1024;
  }();
  return bytes;
}

const std::string& why_not_amx() {
  static const std::string why = [] {
    if (isa_runs("amx")) return std::string();
    if (!(TRM_CPU("amx-tile") && TRM_CPU("amx-bf16"))) return std::string("CPUID reports no AMX-TILE/AMX-BF16");
    if (!isa_runs("avx512")) return std::string("AMX without the AVX-512 base the amx table needs");
    return std::string("Linux did not grant the AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM)");
  }();
  return why;
}

const std::vector<LinearKernelEntry>& linear_kernels() {
  static const std::vector<LinearKernelEntry> entries = [] {
    std::vector<LinearKernelEntry> out;
    for (const GemmEntry& e : kGemms) out.push_back({e.kernel, isa_runs(e.kernel.table) && e.runs()});
    return out;
  }();
  return entries;
}

const LinearKernel* find_linear_kernel(const std::string& name) {
  for (const LinearKernelEntry& e : linear_kernels()) {
    if (e.runs && name == e.kernel.name) return &e.kernel;
  }
  return nullptr;
}

const LinearKernel& linear_kernel(const KernelTable& table, LinearDtype dtype) {
  const LinearKernel* k = dtype == LinearDtype::kBf16   ? table.linear_bf16
                          : dtype == LinearDtype::kInt8 ? table.linear_int8
                                                        : table.linear_f32;
  // Only find_kernels / default_kernels hand out tables with their Linear kernels chosen.
  if (k == nullptr) throw std::invalid_argument(std::string("kernel table ") + table.isa + " has no Linear kernels: use find_kernels");
  return *k;
}

std::vector<std::string> supported_isas() {
  std::vector<std::string> out;
  for (const Resolved& r : resolved_tables()) out.push_back(r.name);
  return out;
}

const KernelTable* find_kernels(const std::string& isa) {
  for (const Resolved& r : resolved_tables()) {
    if (r.name == isa) return &r.table;
  }
  return nullptr;
}

const KernelTable& default_kernels() {
  if (const char* forced = std::getenv("TRM_ISA")) {
    if (const KernelTable* table = find_kernels(forced)) return *table;
  }
  return resolved_tables().front().table;
}

}  // namespace trm::cpu
