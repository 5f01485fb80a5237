// The check of one Linear kernel, which the op harness (op_harness.cc) runs on every kernel
// of kernel_list.inc that runs here and the stand-in check (stand_in_check.cc) on the ones
// that run through stand-ins: c (=|+=) a W^T, the weight packed by pack_linear_weight and
// run by run_linear as the model does, c inside a wider ldc. fp32 and bf16 against float64
// (bf16: on bf16-rounded operands) and against the scalar table's kernel of the dtype; int8
// against float64 of the unquantized product (the quantization's own error) and bit for bit
// against the scalar int8 kernel (every int8 step is exact or one fp32 rounding in a fixed
// order, native/cpu/int8.h).
#include "tests/linear_checks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "cpu/dispatch.h"

namespace trm::tests {
namespace {

const int kGemmM[] = {1, 5, 6, 7, 8, 9, 13, 16, 17};
const int kGemmN[] = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65};
const int kGemmK[] = {1, 2, 3, 15, 16, 17, 64, 65};
// m x n x k with m past the kernels' row blocks at that k (the long workload's down
// projection, 400 x 704, among them).
const std::array<int, 3> kGemmBlockShapes[] = {{400, 33, 704}, {388, 65, 1500}};

// Bounds: relative L2 error against float64. fp32 sums over k terms drift by about sqrt(k)
// ulps; int8's products are exact, so only its dequantization rounds.
constexpr double kGemmBound = 1e-5, kBf16GemmBound = 1e-5, kInt8GemmBound = 1e-6;

// The int8 scheme of native/cpu/int8.h, written out again from its statement: per row,
// inv = 127 / max|x| in fp32, q = round half to even of x * inv clamped to [-127, 127], and
// the scale max|x| / 127 (an all-zero row: q = 0).
struct Quantized {
  std::vector<int> q;
  std::vector<float> scale;
};

Quantized quantize_rows(const float* x, int rows, int cols, int ld) {
  Quantized out{std::vector<int>(static_cast<size_t>(rows) * cols, 0), std::vector<float>(static_cast<size_t>(rows), 1.f)};
  for (int r = 0; r < rows; ++r) {
    float maxabs = 0.f;
    for (int c = 0; c < cols; ++c) maxabs = std::max(maxabs, std::fabs(x[static_cast<size_t>(r) * ld + c]));
    if (maxabs == 0.f) continue;
    const float inv = 127.0f / maxabs;
    out.scale[r] = maxabs / 127.0f;
    for (int c = 0; c < cols; ++c) {
      const float v = std::nearbyint(x[static_cast<size_t>(r) * ld + c] * inv);
      out.q[static_cast<size_t>(r) * cols + c] = static_cast<int>(std::min(127.f, std::max(-127.f, v)));
    }
  }
  return out;
}

// One m x n x k case of `kernel` against float64 and against the scalar kernel of its dtype.
void check_shape(Harness& h, const cpu::LinearKernel& kernel, const cpu::LinearKernel& reference_kernel, int m, int n, int k) {
  const bool bf16 = kernel.dtype == cpu::LinearDtype::kBf16, int8 = kernel.dtype == cpu::LinearDtype::kInt8;
  const int lda = k + 3, ldc = n + 5;
  const auto a = random_vec(static_cast<size_t>(m) * lda, 1000 + m * 7 + k);
  const auto w = random_vec(static_cast<size_t>(n) * k, 2000 + n * 11 + k);
  const auto c0 = random_vec(static_cast<size_t>(m) * ldc, 3000 + m + n);
  const cpu::PackedLinear packed = cpu::pack_linear_weight(*kernel.impl, w.data(), n, k);
  const cpu::PackedLinear packed_ref = cpu::pack_linear_weight(*reference_kernel.impl, w.data(), n, k);
  // int8: the scheme's integers and scales, so float64 checks the kernel's arithmetic
  // (not the quantization's error, which is the scheme's and tested in test/native/int8).
  const Quantized qa = int8 ? quantize_rows(a.data(), m, k, lda) : Quantized{};
  const Quantized qw = int8 ? quantize_rows(w.data(), n, k, k) : Quantized{};
  for (bool accumulate : {false, true}) {
    std::vector<double> ref(static_cast<size_t>(m) * n);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int kk = 0; kk < k; ++kk) {
          const float x = a[static_cast<size_t>(i) * lda + kk], y = w[static_cast<size_t>(j) * k + kk];
          sum += int8 ? static_cast<double>(qa.q[static_cast<size_t>(i) * k + kk]) * qw.q[static_cast<size_t>(j) * k + kk]
               : bf16 ? static_cast<double>(round_to_bf16(x)) * round_to_bf16(y) : static_cast<double>(x) * y;
        }
        if (int8) sum *= static_cast<double>(qa.scale[i]) * qw.scale[j];
        ref[static_cast<size_t>(i) * n + j] = sum + (accumulate ? c0[static_cast<size_t>(i) * ldc + j] : 0.0);
      }
    }
    // ranges: null for run_linear, else cpu::run_linear_column_ranges on them (offsets
    // into c in each range's c).
    auto run = [&](const cpu::PackedLinear& weight, std::vector<float>& out, const std::vector<cpu::ColumnRange>* ranges = nullptr) {
      Guarded c(static_cast<size_t>(m) * ldc);
      std::copy(c0.begin(), c0.end(), c.data());
      // Columns past n within ldc keep the sentinel: the kernel must not touch them.
      for (int i = 0; i < m; ++i) std::fill(c.data() + static_cast<size_t>(i) * ldc + n, c.data() + static_cast<size_t>(i + 1) * ldc, kSentinel);
      if (ranges == nullptr) {
        cpu::run_linear(weight, a.data(), lda, c.data(), ldc, m, accumulate);
      } else {
        std::vector<cpu::ColumnRange> at(*ranges);
        for (cpu::ColumnRange& r : at) r.c = c.data() + r.j0;
        cpu::run_linear_column_ranges(weight, at.data(), static_cast<int>(at.size()), a.data(), lda, ldc, m, accumulate);
      }
      bool clean = c.guards_intact();
      out.assign(static_cast<size_t>(m) * n, 0.f);
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < ldc; ++j) {
          const float v = c.data()[static_cast<size_t>(i) * ldc + j];
          if (j < n) out[static_cast<size_t>(i) * n + j] = v;
          else if (v != kSentinel) clean = false;
        }
      }
      return clean;
    };
    const std::string op = std::string(kernel.name) + (accumulate ? " +=" : "");
    const std::string name = size_name({m, n, k});
    std::vector<float> got, reference;
    h.expect(op + " no stray writes", name, run(packed, got), "wrote outside its output");
    if (cpu::linear_splits_columns(packed)) {
      // The column split (core/forward.cc): the features in three ranges cut at panel
      // starts, given out of order (one may be empty), one pass over the rows for all.
      const int panels = (n + kernel.nr - 1) / kernel.nr;
      const int ja = std::min(n, panels / 3 * kernel.nr), jb = std::min(n, 2 * panels / 3 * kernel.nr);
      const std::vector<cpu::ColumnRange> ranges = {{jb, n, nullptr}, {0, ja, nullptr}, {ja, jb, nullptr}};
      std::vector<float> split;
      h.expect(op + " column ranges no stray writes", name, run(packed, split, &ranges), "wrote outside its output");
      h.expect(op + " column ranges bit for bit", name, std::memcmp(split.data(), got.data(), got.size() * sizeof(float)) == 0,
               "differs from the whole product");
    }
    run(packed_ref, reference);
    h.check(op, name, got.data(), ref.data(), got.size(), int8 ? kInt8GemmBound : bf16 ? kBf16GemmBound : kGemmBound);
    if (std::string(kernel.table) == "scalar") continue;
    if (int8) {
      const bool same = std::memcmp(got.data(), reference.data(), got.size() * sizeof(float)) == 0;
      h.expect(op + " vs " + reference_kernel.name + " bit for bit", name, same, "differs from the scalar int8 kernel");
      continue;
    }
    std::vector<double> s(reference.begin(), reference.end());
    h.check(op + " vs " + reference_kernel.name, name, got.data(), s.data(), got.size(), bf16 ? kBf16GemmBound : kGemmBound);
  }
}

// A bf16 kernel's rounding of its input rows, on values where rounding is delicate (ties
// both ways, the carry into the exponent, subnormals, large finite values): against W = I
// each output is one exact product, so it must equal round_to_bf16 of its input (zeros of
// either sign alike).
void check_bf16_input_rounding(Harness& h, const cpu::LinearKernel& kernel) {
  const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x3f7fff80u, 0x3f7fffffu, 0x00000001u, 0x807fffffu,
                              0x00800000u, 0x7e7fffffu, 0xc2f70001u, 0x3f800001u, 0x3effff7fu};
  const int m = 5, k = 37, n = k;
  std::vector<float> a(static_cast<size_t>(m) * k), w(static_cast<size_t>(n) * k, 0.f);
  for (size_t i = 0; i < a.size(); ++i) {
    const uint32_t bits = special[i % 12] ^ static_cast<uint32_t>(i / 12 % 2) << 31;
    std::memcpy(&a[i], &bits, sizeof(bits));
  }
  for (int j = 0; j < n; ++j) w[static_cast<size_t>(j) * k + j] = 1.f;
  const cpu::PackedLinear packed = cpu::pack_linear_weight(*kernel.impl, w.data(), n, k);
  std::vector<float> c(static_cast<size_t>(m) * n, kSentinel);
  cpu::run_linear(packed, a.data(), k, c.data(), n, m, false);
  bool same = true;
  for (size_t i = 0; i < c.size(); ++i) same = same && c[i] == round_to_bf16(a[i]);
  h.expect(std::string(kernel.name) + " rounds its inputs as bf16_from_f32", size_name({m, n, k}), same,
           "an input rounded otherwise than bf16_from_f32");
}

// The table whose elementwise kernels (silu_mul, softmax_rows) a kernel's fused paths use:
// its own, or for a stand-in whose table (amx) does not run here, avx512's, which the amx
// table's elementwise kernels are.
const cpu::KernelTable* elementwise_table(const cpu::LinearKernel& kernel) {
  const cpu::KernelTable* table = cpu::find_kernels(kernel.table);
  return table != nullptr ? table : cpu::find_kernels("avx512");
}

// A kernel's fused SwiGLU (run_linear_swiglu) against its own GEMM then silu_mul, bit for
// bit, at every gate width past and at the panel and row-tile edges, with act inside a wider
// ld_act whose extra columns must keep their sentinel.
void check_swiglu(Harness& h, const cpu::LinearKernel& kernel, const std::vector<int>& ks) {
  const cpu::KernelTable* table = elementwise_table(kernel);
  const int nr = kernel.nr;
  // Gate widths of one panel, two, an odd count and many; nr = 16 for the AMX kernels.
  for (int inter : {nr, 2 * nr, 3 * nr, 5 * nr, 13 * nr}) {
    for (int m : {1, 15, 16, 17, 31, 32, 33, 47, 97, 300}) {
      for (int k : ks) {
        // 300 rows pass one row block (256 rows of 512 bf16 values); kept to narrow gates
        // there, where the emulated stand-ins are slow.
        if (m == 300 && inter > 2 * nr) continue;
        const int n = 2 * inter, lda = k + 3, ld_act = inter + 7;
        const auto a = random_vec(static_cast<size_t>(m) * lda, 5000 + m * 7 + k);
        const auto w = random_vec(static_cast<size_t>(n) * k, 6000 + n * 11 + k);
        const cpu::PackedLinear packed = cpu::pack_linear_weight(*kernel.impl, w.data(), n, k);
        const std::string name = size_name({m, n, k});
        if (!cpu::linear_fuses_swiglu(packed)) {
          h.expect(std::string(kernel.name) + " fuses the SwiGLU", name, false, "linear_fuses_swiglu is false for a panel-aligned gate_up");
          continue;
        }
        std::vector<float> gu(static_cast<size_t>(m) * n), expected(static_cast<size_t>(m) * inter);
        cpu::run_linear(packed, a.data(), lda, gu.data(), n, m, false);
        table->silu_mul(gu.data(), m, inter, expected.data());
        Guarded act(static_cast<size_t>(m) * ld_act);  // all kSentinel
        cpu::run_linear_swiglu(packed, a.data(), lda, act.data(), ld_act, m);
        bool same = true, clean = act.guards_intact();
        for (int i = 0; i < m; ++i) {
          const float* row = act.data() + static_cast<size_t>(i) * ld_act;
          same = same && std::memcmp(row, expected.data() + static_cast<size_t>(i) * inter, inter * sizeof(float)) == 0;
          for (int j = inter; j < ld_act; ++j) clean = clean && row[j] == kSentinel;
        }
        h.expect(std::string(kernel.name) + " SwiGLU vs its GEMM + silu_mul bit for bit", name, same,
                 "the fused silu(gate) * up differs from the GEMM's products through silu_mul");
        h.expect(std::string(kernel.name) + " SwiGLU no stray writes", name, clean, "wrote outside act's inter columns");
      }
    }
  }
}

// A kernel's attention head (LinearImpl::attention_head) against float64 on its queries,
// keys and values rounded to bf16, with the probabilities exact: what remains is the fp32
// scores and softmax and the probabilities' own rounding to bf16 (2^-9 relative each), so a
// bound of 1e-2; the output lands in a [T, 2 * head_dim] block at the second head's columns,
// the rest of which must keep its sentinel. The softmax is elementwise_table's.
void check_attention_head(Harness& h, const cpu::LinearKernel& kernel) {
  const cpu::KernelTable* table = elementwise_table(kernel);
  for (int T : {1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 81, 97, 400}) {
    for (int hd : {8, 9, 24, 32, 64}) {  // 9: an odd head_dim leaves the last pair half empty
      if (T == 400 && hd != 64) continue;  // the long workload's shape; slow under emulation
      const int heads = 2, hidden = heads * hd, head = 1;
      const size_t stride = 3 * static_cast<size_t>(hidden);
      const auto qkv = random_vec(static_cast<size_t>(T) * stride, 20000 + T * 5 + hd);
      const float* base = qkv.data() + head * hd;
      const std::vector<double> ref = attention_reference(base, stride, hidden, T, hd, true);
      Guarded block(static_cast<size_t>(T) * hidden);  // all kSentinel
      kernel.impl->attention_head(base, stride, hidden, T, hd, table->softmax_rows, block.data() + head * hd, hidden);
      std::vector<float> got;
      const bool clean = head_columns(block, T, hidden, head, hd, got);
      const std::string name = "T " + std::to_string(T) + " head_dim " + std::to_string(hd);
      h.expect(std::string(kernel.name) + " attention no stray writes", name, clean, "wrote outside its head");
      h.check(std::string(kernel.name) + " attention vs float64 on bf16 operands", name, got.data(), ref.data(), got.size(), 1e-2);
    }
  }
}

}  // namespace

std::vector<double> attention_reference(const float* base, size_t stride, int hidden, int T, int head_dim,
                                        bool bf16_operands) {
  const auto at = [&](int t, int offset, int d) {
    const float v = base[t * stride + offset + d];
    return static_cast<double>(bf16_operands ? round_to_bf16(v) : v);
  };
  std::vector<double> ref(static_cast<size_t>(T) * head_dim);
  for (int i = 0; i < T; ++i) {
    std::vector<double> p(T);
    double mx = -1e300, sum = 0;
    for (int j = 0; j < T; ++j) {
      double dot = 0;
      for (int d = 0; d < head_dim; ++d) dot += at(i, 0, d) * at(j, hidden, d);
      p[j] = dot / std::sqrt(static_cast<double>(head_dim));
      mx = std::max(mx, p[j]);
    }
    for (int j = 0; j < T; ++j) sum += (p[j] = std::exp(p[j] - mx));
    for (int d = 0; d < head_dim; ++d) {
      double o = 0;
      for (int j = 0; j < T; ++j) o += p[j] * at(j, 2 * hidden, d);
      ref[static_cast<size_t>(i) * head_dim + d] = o / sum;
    }
  }
  return ref;
}

bool head_columns(const Guarded& block, int T, int hidden, int head, int head_dim, std::vector<float>& out) {
  bool clean = block.guards_intact();
  out.clear();
  for (int i = 0; i < T; ++i) {
    for (int c = 0; c < hidden; ++c) {
      const float v = block.data()[static_cast<size_t>(i) * hidden + c];
      if (c >= head * head_dim && c < (head + 1) * head_dim) out.push_back(v);
      else clean = clean && v == kSentinel;
    }
  }
  return clean;
}

void check_linear_kernel(Harness& h, const cpu::LinearKernel& kernel, const std::vector<int>& extra_ks) {
  const cpu::LinearKernel& reference_kernel = cpu::linear_kernel(*cpu::find_kernels("scalar"), kernel.dtype);
  // The sizes: the common tile edges, and this kernel's own (mr, nr and lanes, +-1).
  std::vector<int> ms(std::begin(kGemmM), std::end(kGemmM)), ns(std::begin(kGemmN), std::end(kGemmN));
  for (int d : {-1, 0, 1}) {
    ms.push_back(std::max(1, kernel.mr + d));
    ns.push_back(std::max(1, kernel.nr + d));
    ns.push_back(std::max(1, 2 * kernel.nr + d));
  }
  std::vector<int> ks(std::begin(kGemmK), std::end(kGemmK));
  for (int d : {-1, 0, 1}) ks.push_back(std::max(1, 4 * kernel.lanes + d));
  ks.insert(ks.end(), extra_ks.begin(), extra_ks.end());
  for (int m : ms) {
    for (int n : ns) {
      for (int k : ks) check_shape(h, kernel, reference_kernel, m, n, k);
    }
  }
  // Rows past one cache block (cpu/row_tiles.h): several blocks, the short tile in the last.
  for (const auto& [m, n, k] : kGemmBlockShapes) check_shape(h, kernel, reference_kernel, m, n, k);
  if (kernel.dtype == cpu::LinearDtype::kBf16) check_bf16_input_rounding(h, kernel);
  if (kernel.impl->run_swiglu != nullptr) {
    // One k step of each dtype and past it (32 bf16 / 64 int8 values), and the Sudoku width:
    // the fused path shares the GEMM's tile loop, which the cases above cover at every depth.
    check_swiglu(h, kernel, {1, 31, 33, 65, 512});
  }
  if (kernel.impl->attention_head != nullptr) check_attention_head(h, kernel);
}

}  // namespace trm::tests
