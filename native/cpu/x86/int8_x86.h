// What the x86 int8 GEMMs share: the per-thread scratch for quantized activations, the row
// blocking, the even split of a block into register tiles. Internal linkage (an anonymous
// namespace): every translation unit, built with its own ISA flags, keeps its own copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../linear.h"

namespace trm::cpu {
namespace {

// Quantized activations of one row block: `words` holds each row's k groups (pairs or
// quads) as int32 words, `sx` the rows' scales; both in thread_scratch (linear.h).
struct Int8Scratch {
  int32_t* words = nullptr;
  float* sx = nullptr;
};

Int8Scratch int8_scratch(size_t word_count, int rows) {
  Int8Scratch s;
  s.words = static_cast<int32_t*>(thread_scratch(0, word_count * sizeof(int32_t)));
  s.sx = static_cast<float*>(thread_scratch(1, static_cast<size_t>(rows) * sizeof(float)));
  return s;
}

// Rows per block: the block's quantized rows (`row_bytes` each) kept to ~96 KB so they stay
// in L2 while every weight panel streams past; a multiple of the tile height.
int int8_row_block(int row_bytes, int mr) {
  const int rows = (98304 / (row_bytes > 0 ? row_bytes : 1)) / mr * mr;
  return rows > mr ? rows : mr;
}

// fn(i0, rows) over [0, m) in blocks of at most `block` rows, of even size.
template <typename Fn>
void for_int8_row_blocks(int m, int block, Fn&& fn) {
  const int blocks = (m + block - 1) / block;
  for (int b = 0, i0 = 0; b < blocks; ++b) {
    const int rows = m / blocks + (b < m % blocks ? 1 : 0);
    fn(i0, rows);
    i0 += rows;
  }
}

// fn(r, mr) over [0, rows) in ceil(rows / mr) tiles of even height (97 rows at mr 8: 6 of 8
// and 7 of 7): a short tile does less work per weight load, and a 1-row tile costs almost
// as much as a full one.
template <typename Fn>
void for_int8_tiles(int rows, int mr, Fn&& fn) {
  const int tiles = (rows + mr - 1) / mr;
  if (tiles == 0) return;
  const int base = rows / tiles, extra = rows % tiles;
  for (int t = 0, r = 0; t < tiles; ++t) {
    const int h = base + (t < extra ? 1 : 0);
    fn(r, h);
    r += h;
  }
}

}  // namespace
}  // namespace trm::cpu
