// The scalar reference kernels: plain loops in the order the math is written, always
// compiled, and the table every SIMD variant is checked against.
#include <cmath>

#include "../kernels.h"

namespace trm::cpu {
namespace {

// nr = 1: the packed weight is W itself, so row j of W is contiguous over k.
void gemm_f32_scalar(const float* w, int n, int k, const float* a, int lda, float* c, int ldc,
                     int m, bool accumulate) {
  for (int i = 0; i < m; ++i) {
    const float* ai = a + static_cast<size_t>(i) * lda;
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < n; ++j) {
      const float* wj = w + static_cast<size_t>(j) * k;
      float acc = 0.f;
      for (int kk = 0; kk < k; ++kk) acc += ai[kk] * wj[kk];
      ci[j] = accumulate ? ci[j] + acc : acc;
    }
  }
}

void rmsnorm_rows_scalar(float* x, int rows, int cols, int ld, float eps) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * ld;
    // Double accumulation: the reference should not add rounding of its own.
    double sum = 0.0;
    for (int j = 0; j < cols; ++j) sum += static_cast<double>(xr[j]) * xr[j];
    const float scale = static_cast<float>(1.0 / std::sqrt(sum / cols + eps));
    for (int j = 0; j < cols; ++j) xr[j] *= scale;
  }
}

void silu_mul_scalar(const float* gu, int rows, int inter, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* g = gu + static_cast<size_t>(r) * 2 * inter;
    const float* u = g + inter;
    float* o = out + static_cast<size_t>(r) * inter;
    for (int i = 0; i < inter; ++i) o[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  }
}

void add_scalar(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

float dot_scalar(const float* a, const float* b, int n) {
  float acc = 0.f;
  for (int i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_scalar(float alpha, const float* x, float* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void softmax_rows_scalar(float* x, int rows, int cols, int ld, float scale) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * ld;
    float max_value = -INFINITY;
    for (int j = 0; j < cols; ++j) {
      xr[j] *= scale;
      max_value = xr[j] > max_value ? xr[j] : max_value;
    }
    float sum = 0.f;
    for (int j = 0; j < cols; ++j) {
      xr[j] = std::exp(xr[j] - max_value);
      sum += xr[j];
    }
    const float inv = 1.f / sum;
    for (int j = 0; j < cols; ++j) xr[j] *= inv;
  }
}

// nr = 1: weight row j holds its k values as kp pairs. Each product of two bf16 values is
// exact in fp32, so the only roundings are the accumulator's, in k order.
void gemm_bf16_scalar(const uint16_t* packed, int n, int k, const float* a, int lda, float* c, int ldc,
                      int m, bool accumulate) {
  const int kp = (k + 1) / 2;
  for (int i = 0; i < m; ++i) {
    const float* ai = a + static_cast<size_t>(i) * lda;
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < n; ++j) {
      const uint16_t* wj = packed + static_cast<size_t>(j) * kp * 2;
      float acc = 0.f;
      for (int kk = 0; kk < k; ++kk) acc += round_to_bf16(ai[kk]) * f32_from_bf16(wj[kk]);
      ci[j] = accumulate ? ci[j] + acc : acc;
    }
  }
}

}  // namespace

const KernelTable& kernels_scalar() {
  static const KernelTable table{"scalar",         1,          gemm_f32_scalar, rmsnorm_rows_scalar,
                                 silu_mul_scalar,  add_scalar, dot_scalar,      axpy_scalar,
                                 softmax_rows_scalar, gemm_bf16_scalar, "fp32 fma"};
  return table;
}

}  // namespace trm::cpu
