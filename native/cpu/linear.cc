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

void run_linear_f32_panels(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  w.impl->f32_gemm(w.data.data(), w.n, w.k, a, lda, c, ldc, m, accumulate);
}

void run_linear_bf16_values(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  if (m <= 0) return;
  const int k_even = (w.k + 1) / 2 * 2;
  // Rounded a block of rows at a time, ~192 KB (the fp32 microkernels' own row block), so
  // the rounded copy stays in L2 next to the rows the microkernel is reading.
  // Blocks of even size (97 rows at most 32 a block: 4 of 24-25, not 32, 32, 32 and 1, whose
  // 1-row tile would cost a whole pass over the weight).
  const int max_rows = std::max(1, 49152 / k_even);
  const int blocks = (m + max_rows - 1) / max_rows;
  float* rounded = static_cast<float*>(thread_scratch(3, static_cast<size_t>(m / blocks + 1) * k_even * sizeof(float)));
  const RoundRowsFn round = w.impl->round_rows ? w.impl->round_rows : round_rows_to_bf16_values;
  for (int b = 0, i0 = 0; b < blocks; ++b) {
    const int rows = m / blocks + (b < m % blocks ? 1 : 0);
    round(a + static_cast<size_t>(i0) * lda, lda, rows, w.k, rounded, k_even);
    w.impl->f32_gemm(w.data.data(), w.n, w.k, rounded, k_even, c + static_cast<size_t>(i0) * ldc, ldc, rows, accumulate);
    i0 += rows;
  }
}

}  // namespace trm::cpu
