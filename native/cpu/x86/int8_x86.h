// What the x86 int8 GEMMs share: the per-thread scratch for quantized activations, the row
// blocking, the even split of a block into register tiles, and the driver loop over them
// (gemm_int8_blocked); each kernel's file keeps only its row quantization and its tile. Internal linkage (an anonymous
// namespace): every translation unit, built with its own ISA flags, keeps its own copy.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../linear.h"
#include "../row_tiles.h"

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

// What one register tile is handed: the panel of weights, the quantized rows (kg words each)
// and their scales, the panel's weight scales and column sums (null where the layout has
// none), and where its `valid` output columns go.
struct Int8Tile {
  const int8_t* panel;
  int kg;
  const int32_t* rows;
  const float* sx;
  const float* sw;
  const int32_t* col_sums;
  float* c;
  int ldc;
  int valid;
  bool accumulate;
  // Lines of the next panel this tile pulls into L2 while it computes, one per k group at
  // most (kernels that do not prefetch ignore them); see gemm_int8_blocked.
  const int8_t* prefetch;
  int prefetch_lines;
};

// Kernel::tile<h>(tile) for the run-time tile height h in [1, Kernel::kMr].
template <class Kernel, int Height = Kernel::kMr>
inline void run_int8_tile(int h, const Int8Tile& tile) {
  if constexpr (Height >= 1) {
    if (h == Height) {
      Kernel::template tile<Height>(tile);
    } else {
      run_int8_tile<Kernel, Height - 1>(h, tile);
    }
  }
}

// The driver every x86 int8 GEMM shares; a kernel supplies its layout (kNr features per
// panel, kKGroup k values per int32 word, kColSums), its tile height kMr, quantize_row (one
// row of `a` into kg words, returning s_x) and tile<h>. Rows are quantized a block at a time,
// then every weight panel streams past the block's rows, in tiles of even height.
// Output features in `ranges` only (cpu::ColumnRange: each starting at a panel, its c
// pointing at its first feature): the column split of cpu::run_linear_column_ranges; each
// caller quantizes all the rows once for its own ranges.
template <class Kernel>
void gemm_int8_blocked(const Int8Weights& w, const ColumnRange* ranges, int count, const float* a, int lda, int ldc,
                       int m, bool accumulate) {
  const int kg = w.kg;
  if (m <= 0) return;
  const int block = int8_row_block(kg * 4, Kernel::kMr);
  const Int8Scratch scratch = int8_scratch(static_cast<size_t>(block) * kg, block);
  const size_t panel_bytes = static_cast<size_t>(kg) * Kernel::kNr * Kernel::kKGroup;
  for_row_blocks(m, block, Kernel::kMr, [&](int i0, int rows) {
    for (int i = 0; i < rows; ++i) {
      scratch.sx[i] = Kernel::quantize_row(a + static_cast<size_t>(i0 + i) * lda, w.k, kg,
                                           scratch.words + static_cast<size_t>(i) * kg);
    }
    const int tiles = (rows + Kernel::kMr - 1) / Kernel::kMr;
    for (int range = 0; range < count; ++range) {
      const int j0 = ranges[range].j0, n = ranges[range].j1;
      if (n <= j0) continue;
      float* const c = ranges[range].c;
      const int panels = (n + Kernel::kNr - 1) / Kernel::kNr;
      for (int p = j0 / Kernel::kNr; p < panels; ++p) {
        const int col = p * Kernel::kNr;
        const int8_t* panel = w.data.data() + p * panel_bytes;
        Int8Tile tile{panel, kg, nullptr, nullptr, w.scales.data() + col,
                      Kernel::kColSums ? w.col_sums.data() + col : nullptr, nullptr, ldc,
                      std::min(Kernel::kNr, n - col), accumulate, nullptr, 0};
        // The tiles of a panel share out prefetching the next one, as the fp32 AVX-512 GEMM
        // does (kernels_avx512.cc says why): 1.10x / 1.11x on a Sudoku-size attention / mlp_t
        // int8 step with the AVX-512 VNNI kernel, 1 thread, Intel f6 m207 (1.03x long).
        const int lines = p + 1 < panels ? static_cast<int>(panel_bytes / 64) : 0;
        const int per_tile = (lines + tiles - 1) / tiles;
        int t = 0;
        for_row_tiles(rows, Kernel::kMr, [&](int r, int h) {
          tile.rows = scratch.words + static_cast<size_t>(r) * kg;
          tile.sx = scratch.sx + r;
          tile.c = c + static_cast<size_t>(i0 + r) * ldc + (col - j0);
          const int first = std::min(t * per_tile, lines);
          tile.prefetch = panel + panel_bytes + static_cast<size_t>(first) * 64;
          tile.prefetch_lines = std::min({per_tile, lines - first, kg});
          ++t;
          run_int8_tile<Kernel>(h, tile);
        });
      }
    }
  });
}

// The LinearImpl of an int8 kernel: its layout and the shared driver, for all the output
// features or (run_columns) ranges of whole panels.
template <class Kernel>
constexpr LinearImpl int8_linear_impl() {
  LinearImpl impl{int8_layout({Kernel::kNr, Kernel::kKGroup, 1, Kernel::kColSums}),
                  [](const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
                    const ColumnRange all{0, w.n, c};
                    gemm_int8_blocked<Kernel>(w.int8, &all, 1, a, lda, ldc, m, accumulate);
                  }};
  impl.run_columns = [](const PackedLinear& w, const ColumnRange* ranges, int count, const float* a, int lda, int ldc,
                        int m, bool accumulate) { gemm_int8_blocked<Kernel>(w.int8, ranges, count, a, lda, ldc, m, accumulate); };
  return impl;
}

}  // namespace
}  // namespace trm::cpu
