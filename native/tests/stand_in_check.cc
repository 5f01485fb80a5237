// The Linear kernels for ISAs this CPU lacks, run through stand-ins and put through the op
// harness's Linear check (linear_checks.cc), so that their code is checked before a CPU with
// the ISA is at hand:
// - AMX (kernels_amx.cc) against a C++ emulation of the tile instructions written from the
//   Intel SDM (amx_emulation.h; amx_emulated_kernels.cc), at the tiles' edges (16 rows, 16
//   output features, 32 bf16 / 64 int8 values a k step) and past its row blocks, then on two
//   fresh threads at once, each of which must configure its own tiles. Its epilogue is
//   AVX-512. Not checked: AMX's speed, Linux's grant of the tile data, and the order in which
//   the hardware's TDPBF16PS rounds (the bf16 bounds allow for either order Intel documents).
// - AVX-VNNI (kernels_int8_avxvnni.cc) with its one instruction in the EVEX encoding of
//   AVX512_VNNI + VL (avxvnni_as_evex_kernels.cc): the same operation, so this runs the
//   kernel's code as written. Not checked: the VEX encoding itself.
// Each part runs where its stand-in can, and says why where it cannot.
//   cmake --build build --target trm_stand_in_check   (test/native/stand-in-kernels.test.ts)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cpu/dispatch.h"
#include "cpu/linear.h"
#include "tests/harness.h"
#include "tests/linear_checks.h"

namespace trm::cpu {
extern const LinearImpl gemm_bf16_amx_32x32_emulated_impl;
extern const LinearImpl gemm_int8_amx_32x32_emulated_impl;
extern const LinearImpl gemm_int8_avxvnni_6x16_evex_impl;
}  // namespace trm::cpu

namespace {

using namespace trm;

// kernel_list.inc's entry for `name` (its mr, nr, lanes and dtype) with the stand-in build
// `impl`, reported as `label`.
cpu::LinearKernel stand_in(const char* name, const char* label, const cpu::LinearImpl* impl) {
  for (const cpu::LinearKernelEntry& entry : cpu::linear_kernels()) {
    if (std::string(entry.kernel.name) != name) continue;
    cpu::LinearKernel kernel = entry.kernel;
    kernel.name = label;
    kernel.impl = impl;
    return kernel;
  }
  std::printf("FAIL kernel_list.inc has no %s\n", name);
  std::exit(1);
}

// Two threads multiply at once (fresh threads: no tile configuration yet), each its own
// weight; each result must equal, bit for bit, the same product run alone on this thread.
void check_two_threads(tests::Harness& h, const cpu::LinearKernel& kernel) {
  const int m = 70, n = 50, k = 300;
  std::vector<cpu::PackedLinear> weights;
  std::vector<std::vector<float>> inputs, alone(2), together(2);
  for (int t = 0; t < 2; ++t) {
    const auto w = tests::random_vec(static_cast<size_t>(n) * k, 77 + t);
    weights.push_back(cpu::pack_linear_weight(*kernel.impl, w.data(), n, k));
    inputs.push_back(tests::random_vec(static_cast<size_t>(m) * k, 99 + t));
    alone[t].assign(static_cast<size_t>(m) * n, 0.f);
    together[t].assign(static_cast<size_t>(m) * n, 0.f);
    cpu::run_linear(weights[t], inputs[t].data(), k, alone[t].data(), n, m, false);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) cpu::run_linear(weights[t], inputs[t].data(), k, together[t].data(), n, m, false);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 2; ++t) {
    const bool same = std::memcmp(alone[t].data(), together[t].data(), alone[t].size() * sizeof(float)) == 0;
    h.expect(std::string(kernel.name) + " on two threads at once", "thread " + std::to_string(t), same,
             "differs from the same product alone");
  }
}

}  // namespace

int main() {
  tests::Harness h;
  if (cpu::find_linear_kernel("gemm_f32_avx512_8x32") != nullptr) {
    // One and two k steps of each dtype, +-1 (32 bf16 or 64 int8 values a step).
    const std::vector<int> k_steps = {31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129};
    for (const cpu::LinearKernel& kernel :
         {stand_in("gemm_bf16_amx_32x32", "gemm_bf16_amx_32x32 (emulated)", &cpu::gemm_bf16_amx_32x32_emulated_impl),
          stand_in("gemm_int8_amx_32x32", "gemm_int8_amx_32x32 (emulated)", &cpu::gemm_int8_amx_32x32_emulated_impl)}) {
      tests::check_linear_kernel(h, kernel, k_steps);
      check_two_threads(h, kernel);
    }
  } else {
    h.skip("AMX kernels (emulated)", "their epilogue is AVX-512, which this CPU does not run");
  }
  if (cpu::find_linear_kernel("gemm_int8_avx512vnni_8x32") != nullptr) {
    tests::check_linear_kernel(
        h, stand_in("gemm_int8_avxvnni_6x16", "gemm_int8_avxvnni_6x16 (as EVEX)", &cpu::gemm_int8_avxvnni_6x16_evex_impl));
  } else {
    h.skip("gemm_int8_avxvnni_6x16 (as EVEX)", "this CPU has no AVX512_VNNI to stand in for AVX-VNNI");
  }
  return h.finish();
}
