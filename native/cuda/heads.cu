// q_head_f32: one warp per (slot, output).
// UNVERIFIED ON HARDWARE.
#include "cuda/common.cuh"
#include "cuda/heads.cuh"

namespace trm::cuda {
namespace {

__global__ void q_head_f32(const float* z_H, const float* weight, const float* bias, float* q, int n, int T, int D) {
  const int unit = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (unit >= 2 * n) return;
  const int slot = unit / 2, o = unit % 2;
  const float* z = z_H + static_cast<size_t>(slot) * T * D;  // position 0
  const float* w = weight + static_cast<size_t>(o) * D;
  float sum = 0.f;
  for (int d = lane; d < D; d += 32) sum = fmaf(z[d], w[d], sum);
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) q[unit] = sum + bias[o];
}

}  // namespace

void q_head(const float* z_H, const float* weight, const float* bias, float* q, int n, int T, int D, cudaStream_t stream) {
  if (n <= 0) return;
  const int warps = 2 * n, per_block = 8;
  q_head_f32<<<(warps + per_block - 1) / per_block, per_block * 32, 0, stream>>>(z_H, weight, bias, q, n, T, D);
  TRM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trm::cuda
