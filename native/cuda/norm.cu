// add_rmsnorm_rows_f32: one block per row. add_rmsnorm_cols_f32: one thread per (sample,
// channel) walking the tokens, so a warp reads 32 consecutive channels of a token row.
// UNVERIFIED ON HARDWARE.
#include "cuda/common.cuh"
#include "cuda/norm.cuh"

namespace trm::cuda {
namespace {

constexpr int kRowThreads = 256;

__global__ void __launch_bounds__(kRowThreads) add_rmsnorm_rows_f32(float* h, const float* y, int cols, float eps) {
  __shared__ double partial[kRowThreads / 32];
  __shared__ float scale;
  float* row = h + static_cast<int64_t>(blockIdx.x) * cols;
  const float* add = y + static_cast<int64_t>(blockIdx.x) * cols;
  double sum = 0.0;
  for (int j = threadIdx.x; j < cols; j += kRowThreads) {
    const float v = row[j] + add[j];
    row[j] = v;
    sum += static_cast<double>(v) * v;
  }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < kRowThreads / 32; ++w) total += partial[w];
    scale = static_cast<float>(1.0 / sqrt(total / cols + eps));
  }
  __syncthreads();
  for (int j = threadIdx.x; j < cols; j += kRowThreads) row[j] *= scale;
}

__global__ void add_rmsnorm_cols_f32(float* h, const float* y, int n, int T, int D, float eps) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(n) * D) return;
  const int64_t sample = idx / D, d = idx % D;
  float* col = h + sample * T * D + d;
  const float* add = y + sample * T * D + d;
  double sum = 0.0;
  for (int t = 0; t < T; ++t) {
    const float v = col[static_cast<int64_t>(t) * D] + add[static_cast<int64_t>(t) * D];
    col[static_cast<int64_t>(t) * D] = v;
    sum += static_cast<double>(v) * v;
  }
  const float scale = static_cast<float>(1.0 / sqrt(sum / T + eps));
  for (int t = 0; t < T; ++t) col[static_cast<int64_t>(t) * D] *= scale;
}

}  // namespace

void add_rmsnorm_rows(float* h, const float* y, int rows, int cols, float eps, cudaStream_t stream) {
  if (rows <= 0) return;
  add_rmsnorm_rows_f32<<<rows, kRowThreads, 0, stream>>>(h, y, cols, eps);
  TRM_CUDA_CHECK(cudaGetLastError());
}

void add_rmsnorm_cols(float* h, const float* y, int n, int T, int D, float eps, cudaStream_t stream) {
  if (n <= 0) return;
  const size_t threads = static_cast<size_t>(n) * D;
  add_rmsnorm_cols_f32<<<static_cast<unsigned>((threads + 127) / 128), 128, 0, stream>>>(h, y, n, T, D, eps);
  TRM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trm::cuda
