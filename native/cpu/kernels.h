// The CPU kernel table: every operation the fused recursion needs from an instruction set.
// One table per ISA (scalar, avx2, avx512), each filled in its own translation unit built
// with that ISA's flags; the scalar table is always compiled and is the reference the
// others are tested against. Nothing here knows about N-API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bf16.h"

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

// The same product with the weight in bf16 pairs (pack_linear_bf16, k padded to `k_padded`)
// and fp32 accumulation: each row of `a` is rounded to bf16 (round to nearest even) once,
// then every bf16 x bf16 product (exact in fp32) is summed into fp32 accumulators.
using GemmBf16Fn = void (*)(const uint16_t* packed, int n, int k, const float* a, int lda,
                            float* c, int ldc, int m, bool accumulate);

struct LinearKernel;

// Filled by field name in each ISA's translation unit (kernels_*.cc); dispatch adds the
// Linear kernels.
struct KernelTable {
  const char* isa = nullptr;  // a TRM_ISA name of kernel_list.inc
  int nr = 1;                 // panel width gemm expects from pack_linear
  GemmFn gemm = nullptr;
  // x[r*ld + j] /= sqrt(mean_j x[r*ld + j]^2 + eps), for r < rows, j < cols (weightless RMSNorm).
  void (*rmsnorm_rows)(float* x, int rows, int cols, int ld, float eps) = nullptr;
  // out[r*inter + i] = silu(gu[r*2*inter + i]) * gu[r*2*inter + inter + i]  (SwiGLU's gate/up halves).
  void (*silu_mul)(const float* gate_up, int rows, int inter, float* out) = nullptr;
  // x[i] += y[i]
  void (*add)(float* x, const float* y, size_t n) = nullptr;
  float (*dot)(const float* a, const float* b, int n) = nullptr;
  // y[i] += alpha * x[i]
  void (*axpy)(float alpha, const float* x, float* y, int n) = nullptr;
  // x[r*ld + j] = softmax over j of (scale * x[r*ld + j]), for r < rows, j < cols.
  void (*softmax_rows)(float* x, int rows, int cols, int ld, float scale) = nullptr;
  // RoPE (rotate_half) on `vectors` consecutive head vectors of one token, v = x + i*head_dim:
  // v[j] = v[j]*cos[j] - v[j+h]*sin[j] and v[j+h] = v[j+h]*cos[j+h] + v[j]*sin[j+h] for
  // j < h = head_dim/2, each product and each sum rounded once (as PyTorch's eager
  // q*cos + rotate_half(q)*sin rounds them): every table gives the same bits.
  void (*rope)(float* x, int vectors, int head_dim, const float* cos, const float* sin) = nullptr;
  // pack_linear_strided(src, n, k, stride, 1, nr, packed) for this table's nr: a weight whose
  // rows are contiguous over k (attention's keys, straight out of the qkv rows). The same bits.
  void (*pack_rows)(const float* src, int n, int k, size_t stride, float* packed) = nullptr;
  // dst[j*ld_dst + t] = src[t*ld_src + j] for t < rows, j < cols, plus add_a (and then add_b)
  // at the same place when given: src + add_a, or src + (add_a + add_b). mlp_t's token mixing
  // turns each sample's [tokens, channels] block around with it (adding the injection on the
  // way in) and back. Every table gives the same bits.
  void (*transpose_rows)(const float* src, const float* add_a, const float* add_b, size_t ld_src, int rows, int cols,
                         float* dst, size_t ld_dst) = nullptr;
  // The Linear-layer GEMM of each dtype this table runs (cpu/linear.h), chosen by dispatch
  // from kernel_list.inc: the first entry for this table whose CPU check passes.
  const LinearKernel* linear_f32 = nullptr;
  const LinearKernel* linear_bf16 = nullptr;
  const LinearKernel* linear_int8 = nullptr;
  // Why a better table (amx) is not the default here, for model.info; empty when it is.
  const char* why_not_best = "";
};

// The elementwise kernels and fp32 gemm of each table, as its translation unit fills them
// (no Linear kernels yet: dispatch.h's find_kernels returns the complete tables).
const KernelTable& kernels_scalar();
// nullptr when the variant was not compiled into this binary (e.g. on non-x86 builds).
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

// KernelTable::transpose_rows one value at a time (the scalar and avx2 tables').
void transpose_rows_generic(const float* src, const float* add_a, const float* add_b, size_t ld_src, int rows, int cols,
                            float* dst, size_t ld_dst);

// Packs W[n][k] (row-major) for a table with panel width nr; returns the float count written.
size_t packed_linear_size(int n, int k, int nr);
void pack_linear(const float* w, int n, int k, int nr, float* packed);
// The same from a strided source: W[j][kk] = src[j*stride_n + kk*stride_k]. Attention packs
// its keys (and its values, transposed) this way, straight out of the qkv rows.
void pack_linear_strided(const float* src, int n, int k, size_t stride_n, size_t stride_k, int nr,
                         float* packed);

// bf16 packing for gemm_bf16: panels of nr outputs with k taken in pairs (the operand shape
// of vdpbf16ps), packed[((p*kp + q)*nr + j)*2 + e] = bf16(W[p*nr + j][2q + e]) with
// kp = ceil(k/2); the odd k tail and the last panel's missing rows are zero.
size_t packed_linear_bf16_size(int n, int k, int nr);
void pack_linear_bf16(const float* w, int n, int k, int nr, uint16_t* packed);
// The same with k padded with zeros to k_padded (even, >= k): the AMX tiles take k in 32s.
void pack_linear_bf16_padded(const float* w, int n, int k, int k_padded, int nr, uint16_t* packed);

// bf16 rounding (core/bf16.h), shared with the CUDA kernels.
using trm::bf16_from_f32;
using trm::f32_from_bf16;
using trm::round_to_bf16;

// The fp32-FMA bf16 GEMMs' operand: out[i*ld_out + kk] = float(bf16(a[i*lda + kk])) for
// kk < k, and a zero at kk = k when k is odd (ld_out = k rounded up to even), so the kernels
// read whole k pairs.
void round_rows_to_bf16_values(const float* a, int lda, int m, int k, float* out, int ld_out);

}  // namespace trm::cpu
