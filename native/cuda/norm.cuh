// Post-norm with the residual fused in: h = rmsnorm(h + y), no weight (the official RMSNorm
// of TRM's blocks has none), sum of squares in double as the CPU reference.
#pragma once

#include <cuda_runtime.h>

namespace trm::cuda {

// Over the channel axis: rows [rows, cols] contiguous.
void add_rmsnorm_rows(float* h, const float* y, int rows, int cols, float eps, cudaStream_t stream);

// Over the token axis (mlp_t): for each of n samples [T, D], normalise each column d over t.
void add_rmsnorm_cols(float* h, const float* y, int n, int T, int D, float eps, cudaStream_t stream);

}  // namespace trm::cuda
