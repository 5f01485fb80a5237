// The scalar reference kernels: plain loops in the order the math is written, always
// compiled, and the table every SIMD variant is checked against.
#include <cmath>

#include <vector>

#include "../int8.h"
#include "../kernels.h"
#include "../linear.h"

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

void rope_scalar(float* x, int vectors, int head_dim, const float* cos, const float* sin) {
  const int half = head_dim / 2;
  for (int v = 0; v < vectors; ++v) {
    float* a = x + static_cast<size_t>(v) * head_dim;
    for (int j = 0; j < half; ++j) {
      const float x1 = a[j], x2 = a[j + half];
      a[j] = x1 * cos[j] - x2 * sin[j];
      a[j + half] = x2 * cos[j + half] + x1 * sin[j + half];
    }
  }
}

// nr = 1: the packed weight is the rows themselves.
void pack_rows_scalar(const float* src, int n, int k, size_t stride, float* packed) {
  pack_linear_strided(src, n, k, stride, 1, 1, packed);
}

// nr = 1: weight row j holds its k values as w.kp pairs. Each product of two bf16 values is
// exact in fp32, so the only roundings are the accumulator's, in k order.
void gemm_bf16_scalar(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  const int n = w.n, k = w.k, kp = w.kp;
  for (int i = 0; i < m; ++i) {
    const float* ai = a + static_cast<size_t>(i) * lda;
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < n; ++j) {
      const uint16_t* wj = w.bf16.data() + static_cast<size_t>(j) * kp * 2;
      float acc = 0.f;
      for (int kk = 0; kk < k; ++kk) acc += round_to_bf16(ai[kk]) * f32_from_bf16(wj[kk]);
      ci[j] = accumulate ? ci[j] + acc : acc;
    }
  }
}

// nr = 1, k groups of 1: the int8 weight is q row-major. The reference of int8.h's scheme.
void gemm_int8_scalar(const PackedLinear& packed, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  const Int8Weights& w = packed.int8;
  thread_local std::vector<int8_t> qx;  // grows once per thread, then is reused
  if (qx.size() < static_cast<size_t>(w.k)) qx.resize(w.k);
  for (int i = 0; i < m; ++i) {
    const float sx = quantize_row_int8(a + static_cast<size_t>(i) * lda, w.k, qx.data());
    float* ci = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < w.n; ++j) {
      const int8_t* qw = w.data.data() + static_cast<size_t>(j) * w.kg;
      int32_t acc = 0;
      for (int kk = 0; kk < w.k; ++kk) acc += static_cast<int32_t>(qx[kk]) * qw[kk];
      const float y = static_cast<float>(acc) * (sx * w.scales[j]);
      ci[j] = accumulate ? ci[j] + y : y;
    }
  }
}

}  // namespace

extern const LinearImpl gemm_f32_scalar_impl{f32_panels_layout(1), run_linear_f32_panels, gemm_f32_scalar};
extern const LinearImpl gemm_bf16_scalar_impl{bf16_pairs_layout(1, 1), gemm_bf16_scalar};
extern const LinearImpl gemm_int8_scalar_impl{int8_layout({1, 1, 1, false}), gemm_int8_scalar};

const KernelTable& kernels_scalar() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "scalar";
    t.nr = 1;
    t.gemm = gemm_f32_scalar;
    t.rmsnorm_rows = rmsnorm_rows_scalar;
    t.silu_mul = silu_mul_scalar;
    t.add = add_scalar;
    t.dot = dot_scalar;
    t.axpy = axpy_scalar;
    t.softmax_rows = softmax_rows_scalar;
    t.rope = rope_scalar;
    t.pack_rows = pack_rows_scalar;
    t.transpose_rows = transpose_rows_generic;
    return t;
  }();
  return table;
}

}  // namespace trm::cpu
