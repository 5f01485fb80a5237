// The tile configuration both AMX units use (kernels_amx.cc, peak_amx.cc): palette 1, all
// eight tiles 16 rows x 64 bytes. Include only from a unit built with -mamx-tile. Internal
// linkage: each unit keeps its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace trm::cpu {
namespace {

constexpr int kTileRows = 16;
constexpr int kTileBytes = 64;

// ldtilecfg's 64-byte operand (Intel SDM, "TILECFG").
struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Configures tmm0..tmm7 as 16 rows x 64 bytes on the calling thread.
inline void load_tile_config() {
  TileConfig cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.palette_id = 1;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = kTileBytes;
    cfg.rows[t] = kTileRows;
  }
  _tile_loadconfig(&cfg);
}

}  // namespace
}  // namespace trm::cpu
