// The AMX peak loops (built with -mamx-tile -mamx-bf16 -mamx-int8; called only after
// peak.cc saw the amx table run, i.e. CPUID and the OS's grant of the tile data). Four
// independent C tiles, each tdpbf16ps 16 x 16 x 32 bf16 multiply-adds (16384 FLOPs), each
// tdpbssd 16 x 16 x 64 int8 ones (32768 ops). On Xeon family 6 model 167 (2026-12-02) one
// core measured 3.3-3.8 TFLOP/s bf16 and 7.0-7.7 TOP/s int8 (the clock under KVM is unknown,
// so not as cycles).
#include <immintrin.h>

#include <chrono>
#include <cstdint>

#include "../peak.h"
#include "amx_tiles.h"

namespace trm::cpu {
namespace {

template <typename Body>
double amx_loop(double seconds, double ops_per_iteration, Body body) {
  load_tile_config();
  alignas(64) static const uint8_t operand[16 * 64] = {};
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  constexpr long kInner = 1 << 12;
  const auto start = std::chrono::steady_clock::now();
  double ops = 0;
  do {
    for (long it = 0; it < kInner; ++it) body();
    ops += ops_per_iteration * kInner;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  _tile_release();
  return ops;
}

}  // namespace

double dot_loop_bf16_amx(double seconds) {
  return amx_loop(seconds, 4 * 16384.0, [] {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  });
}

double dot_loop_int8_amx(double seconds) {
  return amx_loop(seconds, 4 * 32768.0, [] {
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    _tile_dpbssd(2, 5, 6);
    _tile_dpbssd(3, 5, 7);
  });
}

}  // namespace trm::cpu
