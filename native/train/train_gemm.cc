#include "train/train_gemm.h"

#include <algorithm>
#include <cstring>

namespace trm::train {
namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelMinWork = 1 << 15;
// Row blocks handed to threads stay multiples of this, so microkernel tiles stay whole.
constexpr int kRowBlock = 8;
// Side of the square tiles of the operand transposes (a 16 x 16 float tile is 1 KiB).
constexpr int kTransposeTile = 16;

void grow(AlignedBuffer& buffer, size_t count) {
  if (buffer.size() < count) buffer.resize(count);
}

}  // namespace

void pack_transposed(const float* m, int rows, int cols, int ld, int nr, float* packed) {
  const int panels = (cols + nr - 1) / nr;
  for (int p = 0; p < panels; ++p) {
    float* dst = packed + static_cast<size_t>(p) * rows * nr;
    const int col0 = p * nr, width = std::min(nr, cols - col0);
    for (int r = 0; r < rows; ++r) {
      // W[col0 + j][r] = M[r][col0 + j]: a contiguous run of M's row r.
      float* out = dst + static_cast<size_t>(r) * nr;
      std::memcpy(out, m + static_cast<size_t>(r) * ld + col0, width * sizeof(float));
      if (width < nr) std::memset(out + width, 0, (nr - width) * sizeof(float));
    }
  }
}

void TrainGemm::apply(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  const int64_t work = static_cast<int64_t>(m) * w.n * w.k;
  const int blocks = (m + kRowBlock - 1) / kRowBlock;
  auto run = [&](int64_t b, int64_t e) {
    const int row0 = static_cast<int>(b) * kRowBlock;
    const int row1 = std::min(m, static_cast<int>(e) * kRowBlock);
    if (row1 > row0) {
      k_.gemm(w.data.data(), w.n, w.k, a + static_cast<size_t>(row0) * lda, lda, c + static_cast<size_t>(row0) * ldc, ldc,
              row1 - row0, accumulate);
    }
  };
  if (work < kParallelMinWork) {
    run(0, blocks);
  } else {
    pool_.parallel_for(blocks, run);
  }
}

// dst[j][r] = src[r][j] for r < rows, j < cols, in square tiles: a plain column-by-column
// transpose strides through src a whole row per element and spends more time in cache
// misses than the GEMM it feeds. Columns are split over the pool.
void TrainGemm::transpose(const float* src, int ld, int rows, int cols, float* dst, int ldd, bool accumulate) {
  const int col_tiles = (cols + kTransposeTile - 1) / kTransposeTile;
  pool_.parallel_for(col_tiles, [&](int64_t b, int64_t e) {
    for (int r0 = 0; r0 < rows; r0 += kTransposeTile) {
      const int r1 = std::min(rows, r0 + kTransposeTile);
      for (int64_t tile = b; tile < e; ++tile) {
        const int j0 = static_cast<int>(tile) * kTransposeTile, j1 = std::min(cols, j0 + kTransposeTile);
        for (int r = r0; r < r1; ++r) {
          const float* from = src + static_cast<size_t>(r) * ld;
          for (int j = j0; j < j1; ++j) {
            float& to = dst[static_cast<size_t>(j) * ldd + r];
            to = accumulate ? to + from[j] : from[j];
          }
        }
      }
    }
  });
}

void TrainGemm::product_transposed(const float* a, int lda, int a_cols, const float* b, int ldb, int b_cols, int rows,
                                   float* c, int ldc, bool accumulate) {
  const int nr = k_.nr;
  grow(a_t_, static_cast<size_t>(a_cols) * rows);
  grow(b_packed_, cpu::packed_linear_size(b_cols, rows, nr));
  float* a_t = a_t_.data();
  float* b_packed = b_packed_.data();
  // B^T as a Linear weight of b_cols outputs over `rows` inputs; packing reads B's rows whole.
  const int panels = (b_cols + nr - 1) / nr;
  pool_.parallel_for(panels, [&](int64_t pb, int64_t pe) {
    const int col0 = static_cast<int>(pb) * nr, col1 = std::min(b_cols, static_cast<int>(pe) * nr);
    pack_transposed(b + col0, rows, col1 - col0, ldb, nr, b_packed + static_cast<size_t>(pb) * rows * nr);
  });
  transpose(a, lda, rows, a_cols, a_t, rows, false);
  const int64_t work = static_cast<int64_t>(a_cols) * b_cols * rows;
  const int blocks = (a_cols + kRowBlock - 1) / kRowBlock;
  auto run = [&](int64_t rb, int64_t re) {
    const int row0 = static_cast<int>(rb) * kRowBlock;
    const int row1 = std::min(a_cols, static_cast<int>(re) * kRowBlock);
    if (row1 > row0) {
      k_.gemm(b_packed, b_cols, rows, a_t + static_cast<size_t>(row0) * rows, rows, c + static_cast<size_t>(row0) * ldc,
              ldc, row1 - row0, accumulate);
    }
  };
  if (work < kParallelMinWork) {
    run(0, blocks);
  } else {
    pool_.parallel_for(blocks, run);
  }
}

void TrainGemm::accumulate_weight_grad(const float* dy, int ldy, const float* x, int ldx, int rows, int n, int k,
                                       float* dw) {
  if (rows == 0) return;
  // Either operand can be the one transposed (the other is packed, which reads it row by
  // row): transpose the narrower one. dW = dY^T X directly when dY is the narrower; else
  // dW^T = X^T dY into scratch, added to dW transposed (a weight-sized, not activation-sized, pass).
  if (n <= k) {
    product_transposed(dy, ldy, n, x, ldx, k, rows, dw, k, true);
    return;
  }
  grow(dw_t_, static_cast<size_t>(k) * n);
  product_transposed(x, ldx, k, dy, ldy, n, rows, dw_t_.data(), n, false);
  transpose(dw_t_.data(), n, k, n, dw, k, true);
}

}  // namespace trm::train
