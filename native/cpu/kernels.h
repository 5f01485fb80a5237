// The CPU kernel table: every operation the fused recursion needs from an instruction set.
// One table per ISA (scalar, avx2, avx512), each filled in its own translation unit built
// with that ISA's flags; the scalar table is always compiled and is the reference the
// others are tested against. Nothing here knows about N-API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace trm::cpu {

// GEMM against a Linear weight in PyTorch layout W[n][k] (y = x W^T), after the weight was
// packed for this table's microkernel by pack_linear(): column panels of `nr` output
// features, panel p holding W[p*nr + j][kk] at packed[(p*k + kk)*nr + j], the last panel
// zero-padded. The scalar table uses nr = 1 (the packed weight is W itself).
//
//   c[i*ldc + j] (= or +=) sum_kk a[i*lda + kk] * W[j][kk]   for i < m, j < n
//
// `packed` may point at any panel boundary so callers can split n across threads.
using GemmFn = void (*)(const float* packed, int n, int k, const float* a, int lda,
                        float* c, int ldc, int m, bool accumulate);

struct KernelTable {
  const char* isa;  // "scalar", "avx2", "avx512"
  int nr;           // panel width gemm expects from pack_linear
  GemmFn gemm;
  // x[r*ld + j] /= sqrt(mean_j x[r*ld + j]^2 + eps), for r < rows, j < cols (weightless RMSNorm).
  void (*rmsnorm_rows)(float* x, int rows, int cols, int ld, float eps);
  // out[r*inter + i] = silu(gu[r*2*inter + i]) * gu[r*2*inter + inter + i]  (SwiGLU's gate/up halves).
  void (*silu_mul)(const float* gate_up, int rows, int inter, float* out);
  // x[i] += y[i]
  void (*add)(float* x, const float* y, size_t n);
  float (*dot)(const float* a, const float* b, int n);
  // y[i] += alpha * x[i]
  void (*axpy)(float alpha, const float* x, float* y, int n);
};

const KernelTable& kernels_scalar();
// nullptr when the variant was not compiled into this binary (e.g. on non-x86 builds).
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

// Packs W[n][k] (row-major) for a table with panel width nr; returns the float count written.
size_t packed_linear_size(int n, int k, int nr);
void pack_linear(const float* w, int n, int k, int nr, float* packed);

}  // namespace trm::cpu
