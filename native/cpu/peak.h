// Peak arithmetic throughput of this machine, measured rather than assumed: a loop of
// independent FMAs (fp32), bf16 dot-products (vdpbf16ps) or int8 dot-products (vpdpbusd)
// with nothing else in it. The benchmarks
// (bench/) report achieved GFLOP/s as a share of these figures. Nothing here is used by
// inference.
#pragma once

#include <string>

namespace trm::cpu {

// GFLOP/s (GOP/s for int8) of `threads` threads running the `kind` loop ("fp32", "bf16",
// "int8", "amx-bf16", "amx-int8") together for about `seconds`, counting a multiply-add as 2
// operations. Returns a negative value when this build or CPU has no such loop (bf16 needs
// AVX512_BF16, int8 AVX512_VNNI, amx-* the amx table; fp32 needs AVX2+FMA or AVX-512).
double measure_peak_gflops(const std::string& kind, int threads, double seconds);

// Per-thread loops, one per ISA translation unit; each returns the FLOPs it performed.
double fma_loop_f32_avx512(double seconds);
double dot_loop_bf16_avx512(double seconds);
double fma_loop_f32_avx2(double seconds);
double dot_loop_int8_avx512vnni(double seconds);
double dot_loop_bf16_amx(double seconds);
double dot_loop_int8_amx(double seconds);

}  // namespace trm::cpu
