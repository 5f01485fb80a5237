// The AMX instructions the "amx" kernels use (native/cpu/x86/kernels_amx.cc), written out in
// C++ from the Intel SDM's Operation sections, for checking those kernels on a CPU without
// AMX (amx_emulated_check.cc). Each thread has its own tile state, as on hardware, so a
// thread that multiplies before it loads a configuration faults here as it would there.
// Where the SDM raises #UD or #GP (no configuration, a shape that does not fit, a bad
// configuration), this prints the instruction and why, and aborts.
//
// Include after <immintrin.h>: it replaces GCC's _tile_* macros and shadows
// _tile_loadconfig / _tile_release. Only the forms kernels_amx.cc uses are here.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace trm::amx_emulation {

struct Tile {
  uint8_t rows = 0;
  uint16_t colsb = 0;
  alignas(64) uint8_t data[16][64] = {};
};

struct TileState {
  bool configured = false;
  Tile tiles[8];
};

inline TileState& state() {
  thread_local TileState s;
  return s;
}

[[noreturn]] inline void fault(const char* instruction, const char* why) {
  std::fprintf(stderr, "AMX emulation: %s faults: %s\n", instruction, why);
  std::abort();
}

// A configured tile, or #UD.
inline Tile& tile(const char* instruction, int t) {
  TileState& s = state();
  if (!s.configured) fault(instruction, "no tile configuration loaded on this thread (#UD)");
  if (t < 0 || t > 7 || s.tiles[t].rows == 0) fault(instruction, "the tile is not configured (#UD)");
  return s.tiles[t];
}

// LDTILECFG: palette 0 releases; palette 1 sets each tile's rows (<= 16) and bytes per row
// (<= 64), both zero for an unused tile; everything else (tiles 8-15, the reserved bytes,
// start_row) must be zero (#GP). Every tile starts zeroed.
inline void loadconfig(const void* config) {
  uint8_t cfg[64];
  std::memcpy(cfg, config, sizeof(cfg));
  TileState& s = state();
  if (cfg[0] == 0) {
    s = TileState{};
    return;
  }
  if (cfg[0] != 1) fault("ldtilecfg", "palette other than 0 or 1 (#GP)");
  if (cfg[1] != 0) fault("ldtilecfg", "start_row is not 0");
  for (int i = 2; i < 16; ++i) {
    if (cfg[i] != 0) fault("ldtilecfg", "reserved byte not zero (#GP)");
  }
  TileState next;
  for (int t = 0; t < 16; ++t) {
    uint16_t colsb;
    std::memcpy(&colsb, cfg + 16 + 2 * t, sizeof(colsb));
    const uint8_t rows = cfg[48 + t];
    if (t >= 8) {
      if (colsb != 0 || rows != 0) fault("ldtilecfg", "tiles 8-15 configured under palette 1 (#GP)");
      continue;
    }
    if (rows > 16 || colsb > 64) fault("ldtilecfg", "a tile larger than 16 rows x 64 bytes (#GP)");
    if ((rows == 0) != (colsb == 0)) fault("ldtilecfg", "a tile with rows but no bytes or bytes but no rows (#GP)");
    next.tiles[t].rows = rows;
    next.tiles[t].colsb = colsb;
  }
  next.configured = true;
  s = next;
}

inline void release() { state() = TileState{}; }

inline void zero(int t) {
  Tile& d = tile("tilezero", t);
  std::memset(d.data, 0, sizeof(d.data));
}

// TILELOADD: rows x colsb bytes, row r from base + r * stride; the rest of the tile zeroed.
inline void loadd(int t, const void* base, long stride) {
  Tile& d = tile("tileloadd", t);
  std::memset(d.data, 0, sizeof(d.data));
  for (int r = 0; r < d.rows; ++r) std::memcpy(d.data[r], static_cast<const uint8_t*>(base) + r * stride, d.colsb);
}

// TILELOADDT1: TILELOADD with a hint that the data will not be reused (the same result).
inline void stream_loadd(int t, const void* base, long stride) {
  tile("tileloaddt1", t);
  loadd(t, base, stride);
}

inline void stored(int t, void* base, long stride) {
  const Tile& d = tile("tilestored", t);
  for (int r = 0; r < d.rows; ++r) std::memcpy(static_cast<uint8_t*>(base) + r * stride, d.data[r], d.colsb);
}

// A tile dot product's operands, held to the shape rules of every one (#UD otherwise): C is
// M x N dwords, A is M x K dwords, B is K x N dwords, K and N at most 16.
struct DotOperands {
  Tile& c;
  const Tile& a;
  const Tile& b;
  int K, N;
};

inline DotOperands dot_operands(const char* instruction, int dst, int src1, int src2) {
  Tile& c = tile(instruction, dst);
  const Tile& a = tile(instruction, src1);
  const Tile& b = tile(instruction, src2);
  if (c.colsb % 4 != 0 || a.colsb % 4 != 0) fault(instruction, "bytes per row not a multiple of 4 (#UD)");
  if (c.rows != a.rows) fault(instruction, "C and A rows differ (#UD)");
  if (a.colsb / 4 != b.rows) fault(instruction, "A's dwords per row differ from B's rows (#UD)");
  if (c.colsb != b.colsb) fault(instruction, "C and B bytes per row differ (#UD)");
  return {c, a, b, a.colsb / 4, c.colsb / 4};
}

inline float f32_bits(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

inline uint32_t bits_of(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

// bf16 to fp32 with denormals treated as zero (the instruction's DAZ).
inline float bf16_daz(uint16_t x) {
  if ((x & 0x7f80) == 0) x &= 0x8000;
  return f32_bits(static_cast<uint32_t>(x) << 16);
}

// Flush an fp32 denormal to a signed zero (FTZ).
inline float ftz(float v) {
  const uint32_t bits = bits_of(v);
  return (bits & 0x7f800000u) == 0 ? f32_bits(bits & 0x80000000u) : v;
}

// TDPBF16PS as the SDM writes it: per row of C, the even and the odd products of each pair
// summed apart over K (each an fp32 FMA, round to nearest even), then added together and to C.
// (The Intrinsics Guide writes one running sum; the two differ in rounding only.)
inline void dpbf16ps(int dst, int src1, int src2) {
  const auto [c, a, b, K, N] = dot_operands("tdpbf16ps", dst, src1, src2);
  for (int m = 0; m < c.rows; ++m) {
    float temp[32] = {};
    for (int k = 0; k < K; ++k) {
      for (int n = 0; n < N; ++n) {
        for (int half = 0; half < 2; ++half) {
          uint16_t x, y;
          std::memcpy(&x, a.data[m] + 4 * k + 2 * half, 2);
          std::memcpy(&y, b.data[k] + 4 * n + 2 * half, 2);
          temp[2 * n + half] = ftz(std::fma(bf16_daz(x), bf16_daz(y), temp[2 * n + half]));
        }
      }
    }
    for (int n = 0; n < N; ++n) {
      float acc;
      std::memcpy(&acc, c.data[m] + 4 * n, 4);
      acc = ftz(acc + ftz(temp[2 * n] + temp[2 * n + 1]));
      std::memcpy(c.data[m] + 4 * n, &acc, 4);
    }
    std::memset(c.data[m] + c.colsb, 0, 64 - c.colsb);
  }
}

// TDPBSSD: C.dword[m][n] += the four signed-byte products of A's dword (m, k) and B's (k, n),
// over k; int32 arithmetic that wraps.
inline void dpbssd(int dst, int src1, int src2) {
  const auto [c, a, b, K, N] = dot_operands("tdpbssd", dst, src1, src2);
  for (int m = 0; m < c.rows; ++m) {
    for (int n = 0; n < N; ++n) {
      uint32_t acc;
      std::memcpy(&acc, c.data[m] + 4 * n, 4);
      for (int k = 0; k < K; ++k) {
        for (int i = 0; i < 4; ++i) {
          const int32_t x = static_cast<int8_t>(a.data[m][4 * k + i]), y = static_cast<int8_t>(b.data[k][4 * n + i]);
          acc += static_cast<uint32_t>(x * y);
        }
      }
      std::memcpy(c.data[m] + 4 * n, &acc, 4);
    }
    std::memset(c.data[m] + c.colsb, 0, 64 - c.colsb);
  }
}

}  // namespace trm::amx_emulation

#undef _tile_loadd
#undef _tile_stream_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbf16ps
#undef _tile_dpbssd
#define _tile_loadconfig(config) ::trm::amx_emulation::loadconfig(config)
#define _tile_release() ::trm::amx_emulation::release()
#define _tile_zero(t) ::trm::amx_emulation::zero(t)
#define _tile_loadd(t, base, stride) ::trm::amx_emulation::loadd(t, base, stride)
#define _tile_stream_loadd(t, base, stride) ::trm::amx_emulation::stream_loadd(t, base, stride)
#define _tile_stored(t, base, stride) ::trm::amx_emulation::stored(t, base, stride)
#define _tile_dpbf16ps(c, a, b) ::trm::amx_emulation::dpbf16ps(c, a, b)
#define _tile_dpbssd(c, a, b) ::trm::amx_emulation::dpbssd(c, a, b)
