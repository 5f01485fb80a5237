// The two elementwise steps that are not fused into a GEMM epilogue.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace trm::cuda {

// h[i] += a[i] (+ b[i]): the L_level's input injection. The official code forms (z_H + x)
// first, then adds it, so the sum is rounded in that order (as the CPU path).
void inject(float* h, const float* a, const float* b, size_t count, cudaStream_t stream);

// mlp_t's SwiGLU in the [2 * inter, D] layout of the token GEMM (gate rows, then up rows),
// for n samples: act[s][j][d] = silu(gu[s][j][d]) * gu[s][inter + j][d].
void silu_mul_split(const float* gate_up, float* act, int n, int inter, int D, cudaStream_t stream);

}  // namespace trm::cuda
