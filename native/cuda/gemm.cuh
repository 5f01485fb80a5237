// One GEMM for every matrix product of the step, with strided operands so that no operand is
// ever transposed in memory:
//   C[b][m][n] (=, +=, or SwiGLU-paired) sum_k A(m, k) * B(k, n)
//   A(m, k) = a[b * a_batch + m * lda + k]                (row-major, fp32 or bf16)
//   B(k, n) = b[b * b_batch + k * b_k + n * b_n]          (any strides, fp32 or bf16)
// Channel layers pass B = W^T (b_k = 1, b_n = K: the weight as stored); mlp_t passes the
// weight as A and a sample's [tokens, hidden] rows as B (b_k = hidden, b_n = 1), which is
// the official transpose-mix-transpose without the transposes.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace trm::cuda {

enum class Epilogue {
  kStore,       // C = acc
  kAccumulate,  // C += acc
  // Columns come in (gate, up) pairs, 2j and 2j+1 (device_weights interleaves the rows of
  // gate_up_proj so): C[m][j] = silu(gate) * up, with ldc in pairs. Fuses SwiGLU's silu*up.
  kSwiGLU,
};

enum class GemmMath {
  kFp32,  // fp32 SIMT tiles, fp32 FMA: the parity mode
  kBf16,  // both operands rounded to bf16, mma.sync m16n8k16, fp32 accumulation
};

struct GemmArgs {
  int m = 0, n = 0, k = 0, batch = 1;
  const void* a = nullptr;
  bool a_bf16 = false;
  int64_t lda = 0, a_batch = 0;
  const void* b = nullptr;
  bool b_bf16 = false;
  int64_t b_k = 0, b_n = 0, b_batch = 0;
  float* c = nullptr;
  int64_t ldc = 0, c_batch = 0;
  Epilogue epilogue = Epilogue::kStore;
};

// Enqueues on `stream`; no synchronisation, no allocation (safe inside graph capture).
void gemm(const GemmArgs& args, GemmMath math, cudaStream_t stream);

}  // namespace trm::cuda
