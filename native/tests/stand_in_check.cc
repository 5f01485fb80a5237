// The Linear kernels for ISAs this CPU lacks, run through stand-ins and put through the op
// harness's Linear check (linear_checks.cc), so that their code is checked before a CPU with
// the ISA is at hand:
// - AMX (kernels_amx.cc) against a C++ emulation of the tile instructions written from the
//   Intel SDM (amx_emulation.h; amx_emulated_kernels.cc), at the tiles' edges (16 rows, 16
//   output features, 32 bf16 / 64 int8 values a k step) and past its row blocks, then on two
//   fresh threads at once, each of which must configure its own tiles. Its epilogue is
//   AVX-512. Not checked: AMX's speed, Linux's grant of the tile data, and the order in which
//   the hardware's TDPBF16PS rounds (the bf16 bounds allow for either order Intel documents).
//   Then whole models (attention and mlp_t, 2 threads, batch 1 and 3) on the "amx" table as
//   dispatch builds it, with these GEMMs, against the avx512 table: int8 bit for bit.
// - AVX-VNNI (kernels_int8_avxvnni.cc) with its one instruction in the EVEX encoding of
//   AVX512_VNNI + VL (avxvnni_as_evex_kernels.cc): the same operation, so this runs the
//   kernel's code as written. Not checked: the VEX encoding itself.
// Each part runs where its stand-in can, and says why where it cannot.
//   cmake --build build --target trm_stand_in_check   (test/native/stand-in-kernels.test.ts)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/model.h"
#include "core/tensor_table.h"
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

// A small model of random weights (uniform, Linear weights scaled by 1 / sqrt(fan-in) as at
// initialization) with `mlp_t` or attention + RoPE.
struct RandomModel {
  ModelSpec spec;
  std::vector<std::vector<float>> tensors;
  WeightViews views;
  explicit RandomModel(bool mlp_t) {
    spec.seq_len = 37;
    spec.vocab_size = 12;
    spec.hidden_size = 64;
    spec.num_heads = 2;
    spec.H_cycles = 2;
    spec.L_cycles = 2;
    spec.L_layers = 2;
    spec.halt_max_steps = 2;
    spec.pos_encoding = mlp_t ? PosEncoding::kNone : PosEncoding::kRope;
    spec.mlp_t = mlp_t;
    spec.mlp_inter = 256;
    spec.mlp_t_inter = 256;
    spec.num_puzzle_identifiers = 1;
    const std::vector<TensorEntry> table = tensor_table(spec);
    tensors.reserve(table.size());
    for (size_t i = 0; i < table.size(); ++i) {
      const TensorEntry& t = table[i];
      std::vector<float> v = tests::random_vec(t.size(), 500 + i);
      if (t.linear()) {
        for (float& x : v) x /= std::sqrt(static_cast<float>(t.shape.back()));
      }
      tensors.push_back(std::move(v));
      views[t.name] = {tensors.back().data(), tensors.back().size()};
    }
  }
};

// Logits of two ACT steps (no halting) of `batch` samples; false in *ran when the model did
// not pick `table`'s GEMM of its dtype.
std::vector<float> run_model(const RandomModel& m, const cpu::KernelTable& table, Precision precision, int batch, bool* ran) {
  const Model model(m.spec, m.views, table, 2, precision);
  *ran = *ran && model.linear_kernel().impl == cpu::linear_kernel(table, linear_dtype(precision)).impl;
  InferRequest request;
  request.batch = batch;
  for (int i = 0; i < batch * m.spec.seq_len; ++i) request.inputs.push_back((i * 7 + 3) % m.spec.vocab_size);
  request.stopping.max_steps = 2;
  request.stopping.min_steps = 2;
  return model.infer(request).logits;
}

// Whole models on the "amx" table as dispatch builds it on an AMX CPU (the avx512 table with
// the AMX GEMMs for bf16 and int8), here with the emulated GEMMs, against the avx512 table
// itself: int8 bit for bit (every int8 kernel gives the same bits), bf16 (whose sums run in
// another order) within kBf16ModelBound. On 2 threads: batch 1 splits each layer by rows (AMX
// cannot start at any panel, so never by columns), batch 3 by samples; attention and mlp_t.
void check_models(tests::Harness& h, const cpu::LinearKernel& bf16, const cpu::LinearKernel& int8) {
  constexpr double kBf16ModelBound = 1e-2;  // 2.3e-3 measured
  const cpu::KernelTable& avx512 = *cpu::find_kernels("avx512");
  cpu::KernelTable amx = avx512;
  amx.linear_bf16 = &bf16;
  amx.linear_int8 = &int8;
  for (bool mlp_t : {false, true}) {
    const RandomModel m(mlp_t);
    for (int batch : {1, 3}) {
      const std::string name = std::string(mlp_t ? "mlp_t" : "attention") + " batch " + std::to_string(batch);
      bool ran = true;
      const std::vector<float> q_amx = run_model(m, amx, Precision::kInt8, batch, &ran);
      const std::vector<float> q = run_model(m, avx512, Precision::kInt8, batch, &ran);
      h.expect("model int8, amx table (emulated) vs avx512 bit for bit", name,
               q.size() == q_amx.size() && std::memcmp(q.data(), q_amx.data(), q.size() * sizeof(float)) == 0,
               "differs from the avx512 table's int8");
      const std::vector<float> b_amx = run_model(m, amx, Precision::kBf16, batch, &ran);
      const std::vector<float> b = run_model(m, avx512, Precision::kBf16, batch, &ran);
      const std::vector<double> ref(b.begin(), b.end());
      h.check("model bf16, amx table (emulated) vs avx512", name, b_amx.data(), ref.data(), b.size(), kBf16ModelBound);
      h.expect("models run their table's GEMM", name, ran, "a model picked another GEMM than its table's");
    }
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
    check_models(h, stand_in("gemm_bf16_amx_32x32", "gemm_bf16_amx_32x32 (emulated)", &cpu::gemm_bf16_amx_32x32_emulated_impl),
                 stand_in("gemm_int8_amx_32x32", "gemm_int8_amx_32x32 (emulated)", &cpu::gemm_int8_amx_32x32_emulated_impl));
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
