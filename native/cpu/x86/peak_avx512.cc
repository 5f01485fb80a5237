// The AVX-512 peak loops (built with -mavx512f -mavx512bf16 -mavx512vl; called only after
// peak.cc checked the CPU). Twelve independent accumulator chains cover the FMA latency
// (4 cycles) times the FMA ports (2), with room to spare, so the loop is throughput-bound.
#include "avx512_intrinsics.h"

#include <chrono>

#include "../peak.h"

namespace trm::cpu {
namespace {

constexpr int kChains = 12;
constexpr long kInner = 1 << 14;  // iterations between clock reads

template <typename Body>
double timed_loop(double seconds, double flops_per_iteration, Body body) {
  const auto start = std::chrono::steady_clock::now();
  double flops = 0;
  do {
    body();
    flops += flops_per_iteration * kInner;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  return flops;
}

// Keeps the accumulators alive so the compiler cannot drop the loop.
volatile float g_sink;

}  // namespace

double fma_loop_f32_avx512(double seconds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-4f);
  const double flops = timed_loop(seconds, 2.0 * 16 * kChains, [&] {
    for (long it = 0; it < kInner; ++it) {
      #pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
  });
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  g_sink = _mm512_reduce_add_ps(sum);
  return flops;
}

// vdpbf16ps: 32 bf16 products summed pairwise into 16 fp32 lanes, 64 FLOPs per instruction.
double dot_loop_bf16_avx512(double seconds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(-1e-3f));
  const double flops = timed_loop(seconds, 2.0 * 32 * kChains, [&] {
    for (long it = 0; it < kInner; ++it) {
      #pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
  });
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  g_sink = _mm512_reduce_add_ps(sum);
  return flops;
}

}  // namespace trm::cpu
