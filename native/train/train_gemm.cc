#include "train/train_gemm.h"

#include <algorithm>
#include <cstring>

namespace trm::train {
namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelMinWork = 1 << 15;
// Row blocks handed to threads stay multiples of this, so microkernel tiles stay whole.
constexpr int kRowBlock = 8;

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

void TrainGemm::accumulate_weight_grad(const float* dy, int ldy, const float* x, int ldx, int rows, int n, int k,
                                       float* dw) {
  if (rows == 0) return;
  const int nr = k_.nr;
  grow(dy_t_, static_cast<size_t>(n) * rows);
  grow(x_packed_, cpu::packed_linear_size(k, rows, nr));
  float* dy_t = dy_t_.data();
  float* x_packed = x_packed_.data();
  // As a GEMM: dW[n][k] += A[n][rows] B^T with A = dY^T and B = X^T [k][rows] the "weight".
  const int panels = (k + nr - 1) / nr;
  pool_.parallel_for(panels, [&](int64_t b, int64_t e) {
    const int col0 = static_cast<int>(b) * nr, col1 = std::min(k, static_cast<int>(e) * nr);
    pack_transposed(x + col0, rows, col1 - col0, ldx, nr, x_packed + static_cast<size_t>(b) * rows * nr);
  });
  pool_.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      float* out = dy_t + j * rows;
      for (int r = 0; r < rows; ++r) out[r] = dy[static_cast<size_t>(r) * ldy + j];
    }
  });
  const int64_t work = static_cast<int64_t>(n) * k * rows;
  const int blocks = (n + kRowBlock - 1) / kRowBlock;
  auto run = [&](int64_t b, int64_t e) {
    const int row0 = static_cast<int>(b) * kRowBlock;
    const int row1 = std::min(n, static_cast<int>(e) * kRowBlock);
    if (row1 > row0) {
      k_.gemm(x_packed, k, rows, dy_t + static_cast<size_t>(row0) * rows, rows, dw + static_cast<size_t>(row0) * k, k,
              row1 - row0, true);
    }
  };
  if (work < kParallelMinWork) {
    run(0, blocks);
  } else {
    pool_.parallel_for(blocks, run);
  }
}

}  // namespace trm::train
