// INT8 Linear layers: the quantization scheme, the packed weight each int8 GEMM reads, and
// the GEMM signature. One scheme for every kernel (and for the ONNX int8 export, which
// implements the same rules):
//
//  - weights, symmetric per output channel: s_w[o] = max_i |W[o][i]| / 127 and
//    q = clamp(rne(W[o][i] * (127 / max)), -127, 127), both in fp32; a zero row gets s_w = 1
//    and q = 0.
//  - activations, symmetric per row (token), inside each GEMM call: inv = 127 / max|x| (fp32),
//    q = clamp(rne(x * inv), -127, 127), s_x = max|x| / 127; an all-zero row gives q = 0.
//  - int32 accumulation of q_x * q_w in every kernel (exact: no kernel saturates, see each
//    kernel's file), then y = float(acc) * (s_x * s_w[o]), and c = y or c = c + y.
//
// Every step is exact or a single fp32 rounding done in the same order everywhere, so every
// int8 kernel gives the same bits as the scalar reference, whatever the ISA, the row split
// or the thread count (the tests demand it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trm::cpu {

// How an int8 GEMM wants its weight laid out. Panels of `nr` output features; within a
// panel, k in groups of `k_group` consecutive values per feature:
//   packed[((p * kg + g) * nr + j) * k_group + e] = q[p*nr + j][g*k_group + e]
// with kg = ceil(k / k_group) rounded up to a multiple of `kg_multiple`; padding is zero.
// nr = 1, k_group = 1 is plain row-major q. `col_sums` asks for sum_k q[o][k] per output
// (the u8 x s8 kernels shift activations by +128 and subtract 128 * col_sum).
struct Int8Layout {
  int nr = 1;
  int k_group = 1;
  int kg_multiple = 1;
  bool col_sums = false;
};

// The longest k an int8 GEMM takes: 255 * 127 * k (vpdpbusd's shifted sums) must stay below
// 2^31 so no kernel's int32 accumulator can wrap.
constexpr int kInt8MaxK = 65536;

// A Linear weight W[n][k] quantized and packed for one int8 GEMM.
struct Int8Weights {
  int n = 0;
  int k = 0;
  int kg = 0;                     // k groups per panel (see Int8Layout), padding included
  std::vector<int8_t> data;       // packed q
  std::vector<float> scales;      // s_w[n]
  std::vector<int32_t> col_sums;  // [n] where the layout asks for them, else empty
};

// c[i*ldc + j] (= or +=) float(sum_k qx[i][k] * qw[j][k]) * (s_x[i] * s_w[j]) for i < m, j < n.
using GemmInt8Fn = void (*)(const Int8Weights& w, const float* a, int lda, float* c, int ldc, int m,
                            bool accumulate);

// The weight side of the scheme: q row-major [n][k] and s_w[n].
void quantize_weight_int8(const float* w, int n, int k, int8_t* q, float* scales);
// Quantizes W (row-major [n][k]) and packs it for `layout`.
Int8Weights pack_linear_int8(const float* w, int n, int k, const Int8Layout& layout);

// The activation side, one row: returns s_x and writes q[0..k). Scalar, the reference; the
// SIMD kernels reproduce it bit for bit.
float quantize_row_int8(const float* x, int k, int8_t* q);

// The scale a row with this max |x| gets quantized by: 127 / max, 0 for an all-zero row (so
// q = 0), and capped at FLT_MAX so a subnormal max cannot give inf * x = NaN.
// static: each ISA's translation unit keeps its own copy (an inline function merged across
// units built with different -m flags could hand AVX code to a CPU without it).
static inline float int8_inverse_scale(float maxabs) {
  if (!(maxabs > 0.f)) return 0.f;
  const float inv = 127.f / maxabs;
  return inv < 3.4028234663852886e38f ? inv : 3.4028234663852886e38f;
}

// round-half-even of v (already scaled) clamped to [-127, 127]; NaN gives -127, as the SIMD
// conversions (which turn NaN into INT_MIN) then clamp.
static inline int32_t int8_round_clamp(float v) {
  const float r = __builtin_nearbyintf(v);
  if (!(r >= -127.f)) return -127;
  return r > 127.f ? 127 : static_cast<int32_t>(r);
}

}  // namespace trm::cpu
