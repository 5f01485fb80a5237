// The q head on position 0 of z_H (the lm_head is a GEMM, see step.cu).
#pragma once

#include <cuda_runtime.h>

namespace trm::cuda {

// q[j][o] = dot(z_H[j][0], weight[o]) + bias[o], o in {halt, continue}, for slots j < n.
void q_head(const float* z_H, const float* weight, const float* bias, float* q, int n, int T, int D, cudaStream_t stream);

}  // namespace trm::cuda
