// inject_f32 and silu_mul_split_f32: grid-stride elementwise kernels.
// UNVERIFIED ON HARDWARE.
#include "cuda/common.cuh"
#include "cuda/elementwise.cuh"

namespace trm::cuda {
namespace {

__global__ void inject_f32(float* h, const float* a, const float* b, size_t count) {
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    h[i] = b != nullptr ? __fadd_rn(h[i], __fadd_rn(a[i], b[i])) : __fadd_rn(h[i], a[i]);
  }
}

__global__ void silu_mul_split_f32(const float* gu, float* act, int n, int inter, int D) {
  const size_t per_sample = static_cast<size_t>(inter) * D, count = per_sample * n;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t s = i / per_sample, r = i % per_sample;
    const float g = gu[s * 2 * per_sample + r], u = gu[s * 2 * per_sample + per_sample + r];
    act[i] = g / (1.f + expf(-g)) * u;
  }
}

}  // namespace

void inject(float* h, const float* a, const float* b, size_t count, cudaStream_t stream) {
  if (a == nullptr || count == 0) return;
  inject_f32<<<blocks_for(count, 256), 256, 0, stream>>>(h, a, b, count);
  TRM_CUDA_CHECK(cudaGetLastError());
}

void silu_mul_split(const float* gate_up, float* act, int n, int inter, int D, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(n) * inter * D;
  if (count == 0) return;
  silu_mul_split_f32<<<blocks_for(count, 256), 256, 0, stream>>>(gate_up, act, n, inter, D);
  TRM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trm::cuda
