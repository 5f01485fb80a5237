// Packing a Linear weight for its microkernel (linear.h), and the generic entry points of
// the fp32-microkernel formats.
#include "cpu/linear.h"

#include <algorithm>
#include <vector>

namespace trm::cpu {

PackedLinear pack_linear_weight(const LinearImpl& impl, const float* w, int n, int k) {
  PackedLinear out;
  out.n = n;
  out.k = k;
  out.impl = &impl;
  const WeightLayout& layout = impl.layout;
  switch (layout.format) {
    case WeightFormat::kF32Panels:
      out.data.resize(packed_linear_size(n, k, layout.nr));
      pack_linear(w, n, k, layout.nr, out.data.data());
      break;
    case WeightFormat::kBf16ValuePanels: {
      std::vector<float> rounded(static_cast<size_t>(n) * k);
      for (size_t i = 0; i < rounded.size(); ++i) rounded[i] = f32_from_bf16(bf16_from_f32(w[i]));
      out.data.resize(packed_linear_size(n, k, layout.nr));
      pack_linear(rounded.data(), n, k, layout.nr, out.data.data());
      break;
    }
    case WeightFormat::kBf16Pairs:
      out.kp = ((k + 1) / 2 + layout.kp_multiple - 1) / layout.kp_multiple * layout.kp_multiple;
      out.bf16.resize(packed_linear_bf16_size(n, 2 * out.kp, layout.nr));
      pack_linear_bf16_padded(w, n, k, 2 * out.kp, layout.nr, out.bf16.data());
      break;
    case WeightFormat::kInt8Groups:
      out.int8 = pack_linear_int8(w, n, k, layout.int8);
      break;
  }
  return out;
}

void* thread_scratch(int slot, size_t bytes) {
  thread_local AlignedBuffer buffers[4];
  AlignedBuffer& b = buffers[slot];
  const size_t floats = (bytes + sizeof(float) - 1) / sizeof(float);
  if (b.size() < floats) b.resize(floats);
  return b.data();
}

namespace {

// The fp32 microkernel on features [j0, j1) of a panel-packed weight (j0 at a panel start),
// c pointing at feature j0.
void f32_gemm_columns(const PackedLinear& w, int j0, int j1, const float* a, int lda, float* c, int ldc, int m,
                      bool accumulate) {
  const int nr = w.impl->layout.nr;
  w.impl->f32_gemm(w.data.data() + static_cast<size_t>(j0 / nr) * w.k * nr, j1 - j0, w.k, a, lda, c, ldc, m,
                   accumulate);
}

void f32_gemm_ranges(const PackedLinear& w, const ColumnRange* ranges, int count, const float* a, int lda, int ldc,
                     int m, bool accumulate) {
  for (int r = 0; r < count; ++r) {
    if (ranges[r].j1 > ranges[r].j0) f32_gemm_columns(w, ranges[r].j0, ranges[r].j1, a, lda, ranges[r].c, ldc, m, accumulate);
  }
}

// Each row of `a` rounded to bf16 values, then the fp32 microkernel on them, for each range.
// All m rows are rounded at once and go to one microkernel call: the same row blocks and
// register tiles as the fp32 path, so the rounding pass (m x k, next to the GEMM's m x k x n)
// is all that bf16 costs over fp32 here. Rounding in smaller blocks split the rows into
// shorter tiles and made bf16 up to 12% slower than fp32 (Intel Xeon f6 m207,
// sudoku-attention batch 8). The callers keep m small (core/forward.cc: a chain chunk sized
// to L2, or the few rows of a split by columns, each thread then rounding the same rows once
// for all its ranges).
void bf16_values_column_ranges(const PackedLinear& w, const ColumnRange* ranges, int count, const float* a, int lda,
                               int ldc, int m, bool accumulate) {
  if (m <= 0) return;
  const int k_even = (w.k + 1) / 2 * 2;
  float* rounded = static_cast<float*>(thread_scratch(3, static_cast<size_t>(m) * k_even * sizeof(float)));
  const RoundRowsFn round = w.impl->round_rows ? w.impl->round_rows : round_rows_to_bf16_values;
  round(a, lda, m, w.k, rounded, k_even);
  f32_gemm_ranges(w, ranges, count, rounded, k_even, ldc, m, accumulate);
}

}  // namespace

void run_linear_f32_panels(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  f32_gemm_columns(w, 0, w.n, a, lda, c, ldc, m, accumulate);
}

void run_linear_bf16_values(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  const ColumnRange all{0, w.n, c};
  bf16_values_column_ranges(w, &all, 1, a, lda, ldc, m, accumulate);
}

void run_linear_column_ranges(const PackedLinear& w, const ColumnRange* ranges, int count, const float* a, int lda,
                              int ldc, int m, bool accumulate) {
  if (w.impl->run_columns != nullptr) {
    w.impl->run_columns(w, ranges, count, a, lda, ldc, m, accumulate);
  } else if (w.impl->layout.format == WeightFormat::kBf16ValuePanels) {
    bf16_values_column_ranges(w, ranges, count, a, lda, ldc, m, accumulate);
  } else {
    f32_gemm_ranges(w, ranges, count, a, lda, ldc, m, accumulate);
  }
}

void run_linear_columns(const PackedLinear& w, int j0, int j1, const float* a, int lda, float* c, int ldc, int m,
                        bool accumulate) {
  if (j1 <= j0) return;
  const ColumnRange range{j0, j1, c};
  run_linear_column_ranges(w, &range, 1, a, lda, ldc, m, accumulate);
}

}  // namespace trm::cpu
