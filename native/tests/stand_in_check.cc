// The kernels for ISAs this CPU lacks, run through stand-ins so that their code is checked
// before a CPU with the ISA is at hand; the GEMMs through the op harness's Linear check
// (linear_checks.cc: tile edges, row blocks, stray writes, the scalar kernel of their dtype).
// - AMX (kernels_amx.cc) against a C++ emulation of the tile instructions written from the
//   Intel SDM (amx_emulation.h; amx_emulated_kernels.cc), with extra depths at its k steps
//   (32 bf16 / 64 int8 values); on two fresh threads at once, each of which must configure
//   its own tiles; whole models (attention and mlp_t, 2 threads, batch 1 and 3) on the "amx"
//   table as dispatch builds it, against the avx512 table (int8 bit for bit); and one round
//   of the AMX peak loops (amx_emulated_peak.cc). Its epilogue is AVX-512. Not checked:
//   AMX's speed, Linux's grant of the tile data, and the order in which the hardware's
//   TDPBF16PS rounds (the bf16 bounds allow for either order Intel documents).
// - AVX512_BF16 (kernels_avx512_bf16.cc) with vdpbf16ps and vcvtne2ps2bf16 written in
//   AVX-512F from the SDM (avx512bf16_emulation.h; avx512bf16_emulated_kernels.cc): bit for
//   bit the hardware's on normal numbers. Not checked: the instructions' speed.
// - AVX-VNNI (kernels_int8_avxvnni.cc) with its one instruction in the EVEX encoding of
//   AVX512_VNNI + VL (avxvnni_as_evex_kernels.cc): the same operation, so this runs the
//   kernel's code as written. Not checked: the VEX encoding itself.
// Each part runs where its stand-in can, and says why where it cannot. Where the CPU has an
// ISA, its emulation is held to the instructions themselves (check_emulations_against_hardware).
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
#include "tests/stand_ins.h"

namespace trm::cpu {
extern const LinearImpl gemm_bf16_amx_32x32_emulated_impl;
extern const LinearImpl gemm_int8_amx_32x32_emulated_impl;
extern const LinearImpl gemm_int8_avxvnni_4x16_evex_impl;
extern const LinearImpl gemm_bf16_avx512bf16_8x32_emulated_impl;
double dot_loop_bf16_amx_emulated(double seconds);
double dot_loop_int8_amx_emulated(double seconds);
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

// Logits of two ACT steps (no halting) of `batch` samples; false in *ran when the model ran
// another GEMM than `expected`.
std::vector<float> run_model(const RandomModel& m, const cpu::KernelTable& table, Precision precision, int batch,
                             const cpu::LinearImpl* expected, bool* ran) {
  const Model model(m.spec, m.views, table, 2, precision);
  *ran = *ran && model.linear_kernel().impl == expected;
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
      bool ran = true;  // the amx models on the emulated GEMMs, the others on the avx512 table's own
      const std::vector<float> q_amx = run_model(m, amx, Precision::kInt8, batch, int8.impl, &ran);
      const std::vector<float> q = run_model(m, avx512, Precision::kInt8, batch, avx512.linear_int8->impl, &ran);
      h.expect("model int8, amx table (emulated) vs avx512 bit for bit", name,
               q.size() == q_amx.size() && std::memcmp(q.data(), q_amx.data(), q.size() * sizeof(float)) == 0,
               "differs from the avx512 table's int8");
      const std::vector<float> b_amx = run_model(m, amx, Precision::kBf16, batch, bf16.impl, &ran);
      const std::vector<float> b = run_model(m, avx512, Precision::kBf16, batch, avx512.linear_bf16->impl, &ran);
      const std::vector<double> ref(b.begin(), b.end());
      h.check("model bf16, amx table (emulated) vs avx512", name, b_amx.data(), ref.data(), b.size(), kBf16ModelBound);
      h.expect("models run their table's GEMM", name, ran, "a model ran another GEMM than its table's");
    }
  }
}

uint32_t bits_of(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

// Each emulation against its instruction, where this CPU runs it. vcvtne2ps2bf16 bit for bit
// on random values, ties, infinities, subnormals and the largest finite values, and NaN for
// NaN (a vendor may quiet a NaN's payload otherwise than the SDM; printed); tdpbssd bit for
// bit; vdpbf16ps and tdpbf16ps within 1e-6, printing whether they are bit for bit too (the
// SDM's order of roundings is what the emulations do; a vendor's hardware may round the pair
// otherwise, and the kernels' bounds allow for that).
void check_emulations_against_hardware(tests::Harness& h) {
  if (cpu::cpu_has_avx512_bf16()) {
    bool dp_same = true, cvt_same = true, nan_payloads_same = true;
    for (int round = 0; round < 2000; ++round) {
      const auto src = tests::random_vec(16, 11 + round), x = tests::random_vec(64, 5000 + round);
      std::vector<float> a(x.begin(), x.begin() + 16), b(x.begin() + 16, x.begin() + 32);
      if (round < 32) {
        const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0x7fc00001u, 0xffa00000u, 0x7f800000u, 0xff800000u,
                                    0x00000001u, 0x807fffffu, 0x7f7fffffu, 0xff7fffffu, 0x00800000u, 0x3f7fff80u};
        for (int i = 0; i < 16; ++i) std::memcpy(&a[i], &special[(i + round) % 12], 4);
      }
      uint16_t ce[32], ch[32];
      tests::emulated_cvtne2ps_pbh(a.data(), b.data(), ce);
      tests::hardware_cvtne2ps_pbh(a.data(), b.data(), ch);
      for (int i = 0; i < 32; ++i) {
        const bool nan_e = (ce[i] & 0x7f80) == 0x7f80 && (ce[i] & 0x7f) != 0, nan_h = (ch[i] & 0x7f80) == 0x7f80 && (ch[i] & 0x7f) != 0;
        cvt_same = cvt_same && (nan_e ? nan_h : ce[i] == ch[i]);
        nan_payloads_same = nan_payloads_same && ce[i] == ch[i];
      }
      uint32_t pa[16], pb[16];
      for (int i = 0; i < 16; ++i) {
        pa[i] = bits_of(x[32 + i]) >> 16 | (bits_of(x[48 + i]) & 0xffff0000u);
        pb[i] = bits_of(x[i]) >> 16 | (bits_of(x[16 + i]) & 0xffff0000u);
      }
      float de[16], dh[16];
      tests::emulated_dpbf16_ps(src.data(), pa, pb, de);
      tests::hardware_dpbf16_ps(src.data(), pa, pb, dh);
      dp_same = dp_same && std::memcmp(de, dh, sizeof(de)) == 0;
      const std::vector<double> ref(dh, dh + 16);
      h.check("vdpbf16ps emulation vs hardware", "vector " + std::to_string(round), de, ref.data(), 16, 1e-6);
    }
    h.expect("vcvtne2ps2bf16 emulation vs hardware bit for bit", "2000 vectors", cvt_same, "differs");
    std::printf("vcvtne2ps2bf16 emulation vs hardware, NaN payloads: %s\n", nan_payloads_same ? "the same" : "differ");
    std::printf("vdpbf16ps emulation vs hardware: %s\n", dp_same ? "bit for bit" : "within the bound, not bit for bit");
  } else {
    h.skip("AVX512_BF16 emulation vs hardware", "this CPU has no AVX512_BF16");
  }
  if (cpu::cpu_runs_amx(true)) {
    bool int8_same = true, bf16_same = true;
    for (int round = 0; round < 200; ++round) {
      // 1024 values for the A and B tiles' bytes, then 256 for the C tile's start.
      const auto x = tests::random_vec(1024 + 256, 9000 + round);
      uint8_t a[1024], b[1024];
      for (int i = 0; i < 1024; ++i) {
        a[i] = static_cast<uint8_t>(bits_of(x[i]) >> 13);
        b[i] = static_cast<uint8_t>(bits_of(x[i]) >> 21);
      }
      int32_t ie[256], ih[256];
      for (int i = 0; i < 256; ++i) ie[i] = ih[i] = static_cast<int32_t>(x[1024 + i] * 1000);
      tests::emulated_tile_dp(true, a, b, ie);
      tests::hardware_tile_dp(true, a, b, ih);
      int8_same = int8_same && std::memcmp(ie, ih, sizeof(ie)) == 0;
      // bf16 tiles: each dword a pair of bf16 values (the high halves of random floats).
      for (int i = 0; i < 512; ++i) {
        const uint16_t va = static_cast<uint16_t>(bits_of(x[i]) >> 16), vb = static_cast<uint16_t>(bits_of(x[(i + 97) % 512]) >> 16);
        std::memcpy(a + 2 * i, &va, 2);
        std::memcpy(b + 2 * i, &vb, 2);
      }
      float fe[256], fh[256];
      for (int i = 0; i < 256; ++i) fe[i] = fh[i] = x[1024 + i];
      tests::emulated_tile_dp(false, a, b, fe);
      tests::hardware_tile_dp(false, a, b, fh);
      bf16_same = bf16_same && std::memcmp(fe, fh, sizeof(fe)) == 0;
      const std::vector<double> ref(fh, fh + 256);
      h.check("tdpbf16ps emulation vs hardware", "round " + std::to_string(round), fe, ref.data(), 256, 1e-6);
    }
    h.expect("tdpbssd emulation vs hardware bit for bit", "200 tiles", int8_same, "differs");
    std::printf("tdpbf16ps emulation vs hardware: %s\n", bf16_same ? "bit for bit" : "within the bound, not bit for bit");
  } else {
    h.skip("AMX emulation vs hardware", "this CPU does not run AMX (" + cpu::why_not_amx() + ")");
  }
}

}  // namespace

int main() {
  tests::Harness h;
  if (cpu::find_linear_kernel("gemm_f32_avx512_8x32") != nullptr) {
    // One and two k steps of each dtype, +-1 (32 bf16 or 64 int8 values a step).
    const std::vector<int> k_steps = {31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129};
    const cpu::LinearKernel amx_bf16 =
        stand_in("gemm_bf16_amx_32x32", "gemm_bf16_amx_32x32 (emulated)", &cpu::gemm_bf16_amx_32x32_emulated_impl);
    const cpu::LinearKernel amx_int8 =
        stand_in("gemm_int8_amx_32x32", "gemm_int8_amx_32x32 (emulated)", &cpu::gemm_int8_amx_32x32_emulated_impl);
    for (const cpu::LinearKernel& kernel : {amx_bf16, amx_int8}) {
      tests::check_linear_kernel(h, kernel, k_steps);
      check_two_threads(h, kernel);
    }
    // The peak loops (bench/kernels.js): one round each, which faults under the emulation if
    // a loop uses a tile it did not configure; each reports the products of that round.
    const double bf16_ops = cpu::dot_loop_bf16_amx_emulated(0), int8_ops = cpu::dot_loop_int8_amx_emulated(0);
    h.expect("AMX peak loops (emulated) run a round", "bf16 and int8", bf16_ops == 4096.0 * 4 * 16384 && int8_ops == 4096.0 * 4 * 32768,
             "counted other than 4096 rounds of four tile products");
    check_models(h, amx_bf16, amx_int8);
  } else {
    h.skip("AMX kernels (emulated)", "their epilogue is AVX-512, which this CPU does not run");
  }
  if (cpu::find_linear_kernel("gemm_f32_avx512_8x32") != nullptr) {
    tests::check_linear_kernel(h, stand_in("gemm_bf16_avx512bf16_8x32", "gemm_bf16_avx512bf16_8x32 (emulated)",
                                           &cpu::gemm_bf16_avx512bf16_8x32_emulated_impl));
  } else {
    h.skip("gemm_bf16_avx512bf16_8x32 (emulated)", "its emulation is AVX-512F, which this CPU does not run");
  }
  if (cpu::find_linear_kernel("gemm_int8_avx512vnni_8x32") != nullptr) {
    tests::check_linear_kernel(
        h, stand_in("gemm_int8_avxvnni_4x16", "gemm_int8_avxvnni_4x16 (as EVEX)", &cpu::gemm_int8_avxvnni_4x16_evex_impl));
  } else {
    h.skip("gemm_int8_avxvnni_4x16 (as EVEX)", "this CPU has no AVX512_VNNI to stand in for AVX-VNNI");
  }
  check_emulations_against_hardware(h);
  return h.finish();
}
