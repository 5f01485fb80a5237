#include "cpu/peak.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu/dispatch.h"

namespace trm::cpu {
namespace {

using Loop = double (*)(double);

Loop pick_loop(const std::string& kind) {
  if (kind == "fp32") {
    if (find_kernels("avx512")) return fma_loop_f32_avx512;
    if (find_kernels("avx2")) return fma_loop_f32_avx2;
  }
  if (kind == "bf16" && cpu_has_avx512_bf16()) return dot_loop_bf16_avx512;
  if (kind == "int8" && cpu_has_avx512_vnni()) return dot_loop_int8_avx512vnni;
  if (kind == "amx-bf16" && cpu_runs_amx(false)) return dot_loop_bf16_amx;
  if (kind == "amx-int8" && cpu_runs_amx(true)) return dot_loop_int8_amx;
  return nullptr;
}

}  // namespace

double measure_peak_gflops(const std::string& kind, int threads, double seconds) {
  const Loop loop = pick_loop(kind);
  if (!loop || threads < 1) return -1.0;
  std::vector<double> flops(threads, 0.0);
  std::atomic<int> ready{0};
  const auto run = [&](int t) {
    // Start together so the threads overlap (and share the socket's clocks) while timed.
    ready.fetch_add(1);
    while (ready.load() < threads) {
    }
    flops[t] = loop(seconds);
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(run, t);
  run(0);
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double total = 0;
  for (double f : flops) total += f;
  return total / elapsed / 1e9;
}

}  // namespace trm::cpu
