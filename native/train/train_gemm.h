// The three matrix products of training, all on the kernel table's packed GEMM:
//   forward          y  = x W^T          (W packed as is)
//   input gradient   dX = dY W           (W^T packed: LinearParam::wt)
//   weight gradient  dW += dY^T X        (one operand transposed, the other packed, per call)
// Rows of the output are split over the thread pool. Scratch grows on first use only.
#pragma once

#include "core/aligned_buffer.h"
#include "core/model.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace trm::train {

// Packs W = M^T for a table of panel width nr, where M is [rows][cols] with leading
// dimension ld: W has n = cols outputs over k = rows inputs. Same layout as
// cpu::pack_linear (kernels.h), read from the transposed side so that no transposed copy
// of M is needed.
void pack_transposed(const float* m, int rows, int cols, int ld, int nr, float* packed);

class TrainGemm {
 public:
  TrainGemm(const cpu::KernelTable& kernels, ThreadPool& pool) : k_(kernels), pool_(pool) {}

  // c[i][j] (= or +=) sum_kk a[i][kk] W[j][kk] for i < m, j < w.n.
  void apply(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate);

  // dw[j][kk] += sum_r dy[r][j] x[r][kk] for j < n, kk < k, r < rows.
  void accumulate_weight_grad(const float* dy, int ldy, const float* x, int ldx, int rows, int n, int k, float* dw);

 private:
  // c[i][j] (= or +=) sum_r a[r][i] b[r][j]: A^T B for A [rows][a_cols], B [rows][b_cols].
  void product_transposed(const float* a, int lda, int a_cols, const float* b, int ldb, int b_cols, int rows, float* c,
                          int ldc, bool accumulate);
  // dst[j][r] (= or +=) src[r][j].
  void transpose(const float* src, int ld, int rows, int cols, float* dst, int ldd, bool accumulate);

  const cpu::KernelTable& k_;
  ThreadPool& pool_;
  AlignedBuffer a_t_;       // A^T [a_cols][rows]
  AlignedBuffer b_packed_;  // B^T packed as a Linear weight [b_cols][rows]
  AlignedBuffer dw_t_;      // dW^T [k][n], when that orientation is the cheaper one
};

}  // namespace trm::train
