// Linear layers (y = x W^T) as the model runs them: a weight packed once at load for one
// GEMM microkernel of native/cpu/kernel_list.inc, in that kernel's layout and dtype, and the
// call that multiplies by it. Attention's QK^T and PV are not Linear layers: they use the
// table's raw fp32 `gemm` (kernels.h) on operands packed per call.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "cpu/int8.h"
#include "cpu/kernels.h"

namespace trm::cpu {

enum class LinearDtype { kF32, kBf16, kInt8 };

enum class WeightFormat {
  kF32Panels,         // pack_linear panels of nr features (kernels.h)
  kBf16ValuePanels,   // the same panels holding bf16-rounded values, for an fp32 microkernel
  kBf16Pairs,         // pack_linear_bf16 pairs, kp rounded up to kp_multiple
  kInt8Groups,        // pack_linear_int8 with `int8` (int8.h)
};

struct WeightLayout {
  WeightFormat format = WeightFormat::kF32Panels;
  int nr = 1;
  int kp_multiple = 1;  // kBf16Pairs: the k pairs a panel holds, rounded up to a multiple of this
  Int8Layout int8;      // kInt8Groups
};

constexpr WeightLayout f32_panels_layout(int nr) { return {WeightFormat::kF32Panels, nr, 1, {}}; }
constexpr WeightLayout bf16_values_layout(int nr) { return {WeightFormat::kBf16ValuePanels, nr, 1, {}}; }
constexpr WeightLayout bf16_pairs_layout(int nr, int kp_multiple) { return {WeightFormat::kBf16Pairs, nr, kp_multiple, {}}; }
constexpr WeightLayout int8_layout(Int8Layout int8) { return {WeightFormat::kInt8Groups, int8.nr, 1, int8}; }

struct LinearImpl;

// A Linear weight W[n][k] packed for `kernel`; one of data / bf16 / int8 is filled.
struct PackedLinear {
  int n = 0;
  int k = 0;
  const LinearImpl* impl = nullptr;
  AlignedBuffer data;  // kF32Panels, kBf16ValuePanels (the training engine fills it directly)
  std::vector<uint16_t> bf16;
  int kp = 0;  // kBf16Pairs: pairs per panel, padding included
  Int8Weights int8;
};

// c[i*ldc + j] (= or +=) (a W^T)[i][j] for i < m, j < n, in the kernel's arithmetic.
using LinearFn = void (*)(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate);

// What a microkernel's own translation unit provides: its layout, its entry point, and for
// the kernels that are an fp32 microkernel on prepared operands, that microkernel.
// round_rows_to_bf16_values's signature (kernels.h): an ISA's own, bit for bit the same.
using RoundRowsFn = void (*)(const float* a, int lda, int m, int k, float* out, int ld_out);

// Output features [j0, j1) of a product, j0 a multiple of the layout's nr and j1 one too or
// n, feature j written to c[i*ldc + j - j0] (c points at feature j0).
struct ColumnRange {
  int j0, j1;
  float* c;
};

// Some column ranges of a LinearFn's product on the same rows of `a` (as
// run_linear_column_ranges).
using LinearColumnsFn = void (*)(const PackedLinear& w, const ColumnRange* ranges, int count, const float* a, int lda,
                                 int ldc, int m, bool accumulate);

// A SwiGLU's gate_up product (n = 2 * inter: gate features [0, inter), up features
// [inter, 2 * inter)) formed into act[i*ld_act + j] = silu(gate_j) * up_j, j < inter, i < m,
// in the GEMM's own epilogue: the 2 * inter products are never stored. The same bits as
// run then the table's silu_mul.
using SwiGluFn = void (*)(const PackedLinear& w, const float* a, int lda, float* act, int ld_act, int m);

// Attention's two products for one (sample, head), in a kernel's own arithmetic:
// out[t*ldo + d] = softmax_j(q_t . k_j / sqrt(head_dim)) v_j[d] as cpu/attention.h's attention_head
// defines it (q, k, v read from `qkv` at stride, k at +hidden, v at +2 * hidden), with
// `softmax_rows` the table's.
using AttentionHeadFn = void (*)(const float* qkv, size_t stride, int hidden, int T, int head_dim,
                                 void (*softmax_rows)(float* x, int rows, int cols, int ld, float scale), float* out,
                                 int ldo);

struct LinearImpl {
  WeightLayout layout;
  LinearFn run;
  GemmFn f32_gemm = nullptr;
  RoundRowsFn round_rows = nullptr;  // kBf16ValuePanels: the rounding pass (default: the generic one)
  // The kernels that compute a range of output features without f32_gemm (the x86 int8
  // driver); the fp32-microkernel formats use f32_gemm for that.
  LinearColumnsFn run_columns = nullptr;
  // The kernels that fuse silu(gate) * up into their epilogue (AMX), for inter a multiple
  // of the layout's nr (linear_fuses_swiglu).
  SwiGluFn run_swiglu = nullptr;
  // The kernels whose models also run attention's QK^T and PV in their dtype (AMX bf16 and
  // vdpbf16ps: the operands rounded to bf16, packed per call into the kernel's layout, fp32
  // scores and softmax); the others run them in fp32 on the table's gemm (cpu/attention.h).
  AttentionHeadFn attention_head = nullptr;
  // The shortest sequence (positions) where attention_head pays for its per-call packing;
  // shorter ones run the fp32 path.
  int attention_min_len = 0;
};

// One TRM_GEMM entry of kernel_list.inc, resolved by dispatch.
struct LinearKernel {
  const char* name;
  const char* table;
  LinearDtype dtype;
  int mr, nr, lanes;
  const char* label;  // what model.info reports (bf16Compute / int8Compute)
  const LinearImpl* impl;
};

// Quantizes / rounds and packs W (row-major [n][k]) for `impl`.
PackedLinear pack_linear_weight(const LinearImpl& impl, const float* w, int n, int k);

inline void run_linear(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  w.impl->run(w, a, lda, c, ldc, m, accumulate);
}

// Whether run_linear_swiglu can form w's SwiGLU: its kernel fuses one and the up half starts
// at a panel.
inline bool linear_fuses_swiglu(const PackedLinear& w) {
  return w.impl->run_swiglu != nullptr && w.n % 2 == 0 && (w.n / 2) % w.impl->layout.nr == 0;
}

inline void run_linear_swiglu(const PackedLinear& w, const float* a, int lda, float* act, int ld_act, int m) {
  w.impl->run_swiglu(w, a, lda, act, ld_act, m);
}

// Whether run_linear_columns can compute a part of w's output features: the formats an fp32
// microkernel runs (kF32Panels, kBf16ValuePanels), whose panels it can start at any panel,
// and the kernels with run_columns (the x86 int8 ones).
inline bool linear_splits_columns(const PackedLinear& w) {
  return w.impl->f32_gemm != nullptr || w.impl->run_columns != nullptr;
}

// Output features [j0, j1) of run_linear alone, j0 a multiple of the layout's nr and j1 one
// too or n, feature j written to c[i*ldc + j - j0] (c points at feature j0): what threads
// that share few rows split between them, so that each streams only its part of the weight.
// Every output gets the same arithmetic as from run_linear.
void run_linear_columns(const PackedLinear& w, int j0, int j1, const float* a, int lda, float* c, int ldc, int m,
                        bool accumulate);
// Several such ranges of one weight on the same rows, with their outputs in the same ldc:
// the rows are rounded to bf16 or quantized to int8 once for all of them (a thread's q, k
// and v features, or its gate and up features), not once per range.
void run_linear_column_ranges(const PackedLinear& w, const ColumnRange* ranges, int count, const float* a, int lda,
                              int ldc, int m, bool accumulate);

// The generic entry points for the fp32-microkernel formats: the weight as packed, or (bf16)
// each row of `a` rounded to bf16 values once, into a per-thread scratch, then the fp32
// microkernel: the products of two bf16 values are exact in fp32, so this is the bf16
// arithmetic (gemm_bf16_scalar's) at fp32 speed.
void run_linear_f32_panels(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate);
void run_linear_bf16_values(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate);

// A per-thread scratch buffer (slot 0..3) of at least `bytes`, 64-byte aligned; it grows once
// per thread and is then reused (contents are not kept across growth). The SIMD kernels take
// their scratch from here rather than own a std::vector: a template instantiated in a unit
// built with AVX-512 flags is a weak symbol the linker may hand to generic code too.
void* thread_scratch(int slot, size_t bytes);

}  // namespace trm::cpu
