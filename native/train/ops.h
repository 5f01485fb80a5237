// The elementwise and row-wise pieces of the training forward and backward: RMSNorm with
// its saved scale, SwiGLU's derivative, RoPE and its transpose, per-sample transposition.
// Each splits its rows over the pool; none allocates.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace trm::train {

// x[r] *= inv_rms[r] = 1 / sqrt(mean_j x[r][j]^2 + eps), in place (the official weightless
// rms_norm); inv_rms is kept for the backward.
void rmsnorm_forward(ThreadPool& pool, float* x, int rows, int cols, float eps, float* inv_rms);

// Given y = rmsnorm(x) and dL/dy: dL/dx = inv_rms * (dy - y * mean_j(dy * y)).
void rmsnorm_backward(ThreadPool& pool, const float* dy, const float* y, const float* inv_rms, int rows, int cols,
                      float* dx);

// act = silu(gate) * up with gate_up rows [gate | up]; from dL/dact writes dL/dgate_up.
void swiglu_backward(ThreadPool& pool, const float* d_act, const float* gate_up, int rows, int inter,
                     float* d_gate_up);

// RoPE (rotate_half convention) on the q and k heads of qkv rows [rows, 3 * heads * head_dim],
// row r at position r % positions, by the kernel table's rope (the inference forward's too).
// Backward applies the transposed rotation to d_qkv.
void rope_forward(const cpu::KernelTable& k, ThreadPool& pool, float* qkv, int rows, int positions, int heads,
                  int head_dim, const float* cos, const float* sin);
void rope_backward(ThreadPool& pool, float* d_qkv, int rows, int positions, int heads, int head_dim,
                   const float* cos, const float* sin);

// Each of n samples' [rows, cols] matrix in src becomes [cols, rows] in dst.
void transpose_samples(ThreadPool& pool, const float* src, float* dst, int n, int rows, int cols);

// x[i] += y[i]
void add_into(ThreadPool& pool, float* x, const float* y, size_t count);
// out[i] = x[i] + y[i]
void add_to(ThreadPool& pool, const float* x, const float* y, float* out, size_t count);

}  // namespace trm::train
