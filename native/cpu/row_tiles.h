// How the x86 GEMM kernels cut a call's rows: into cache blocks of whole register tiles, and
// each block into tiles of even height. One rule for the fp32, bf16 and int8 kernels.
#pragma once

#include <algorithm>

namespace trm::cpu {

// fn(i0, rows) over [0, m) in blocks of at most `block` rows (rounded down to a multiple of
// mr, at least mr). The ceil(m / mr) tiles are shared out evenly and only the last block
// holds the short tile, so no block adds a tile of its own: 400 rows in blocks of at most
// 184 at mr 8 are 136, 136 and 128 (50 tiles), where three even blocks of 133-134 rows were
// 51 tiles. Every block streams the whole weight once more, hence as few blocks as fit.
template <typename Fn>
void for_row_blocks(int m, int block, int mr, Fn&& fn) {
  if (m <= 0) return;
  block = std::max(mr, block / mr * mr);
  const int tiles = (m + mr - 1) / mr, blocks = (m + block - 1) / block;
  for (int b = 0, i0 = 0; b < blocks; ++b) {
    const int share = tiles / blocks + (b < tiles % blocks ? 1 : 0);
    const int rows = std::min(share * mr, m - i0);
    fn(i0, rows);
    i0 += rows;
  }
}

// fn(i0, h) over [0, rows) in ceil(rows / mr) tiles of even height (97 rows at mr 8: 6 of 8
// and 7 of 7, not 12 of 8 and one of 1): a short tile does less work per weight load, and a
// 1-row tile costs almost as much as a full one.
template <typename Fn>
void for_row_tiles(int rows, int mr, Fn&& fn) {
  const int tiles = (rows + mr - 1) / mr;
  if (tiles == 0) return;
  const int base = rows / tiles, extra = rows % tiles;
  for (int t = 0, i0 = 0; t < tiles; ++t) {
    const int h = base + (t < extra ? 1 : 0);
    fn(i0, h);
    i0 += h;
  }
}

}  // namespace trm::cpu
