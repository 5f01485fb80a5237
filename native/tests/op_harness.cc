// The op harness, in the spirit of ggml's test-backend-ops: every op on every kernel table
// this CPU runs (and on CUDA where a GPU is present) against a float64 reference, and every
// SIMD table against the scalar table, each op with its own bound, at sizes equal to, one
// below, one above and multiples of the vector width and the register tile. Outputs sit
// inside larger buffers filled with a sentinel, so a stray write fails too. It links the
// core alone (no Node), so running it also proves the core builds and runs without Node.
//   build/Release/trm_op_harness   (built by npm run build:native; run by test/native/op-harness.test.ts)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "cpu/attention.h"
#include "cpu/dispatch.h"
#include "cpu/kernels.h"
#include "tests/harness.h"
#include "tests/linear_checks.h"

namespace trm::tests {
namespace {

using cpu::KernelTable;

// The vector widths (8, 16) and tiles (MR 6/8, NR 16/32) of every table, and their edges.
const int kLengths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000};

// Bounds: relative L2 error against float64 (dot: relative to the sum of |terms|; the GEMMs'
// are in linear_checks.cc). Elementwise ops drift by an ulp or two (softmax sums 1000 float
// exps: 7e-7 measured, hence its looser bound).
constexpr double kNormBound = 1e-6, kSiluBound = 1e-6;
constexpr double kSoftmaxBound = 2e-6, kDotBound = 1e-6, kAxpyBound = 1e-6, kAttentionBound = 1e-5, kRopeBound = 1e-6;

// Every table's result is checked twice: against float64, and against the scalar table's.
void check_both(Harness& h, const std::string& op, const KernelTable& k, const std::string& name, const float* got,
                const double* ref, const float* scalar, size_t n, double bound) {
  h.check(op + " " + k.isa, name, got, ref, n, bound);
  if (std::string(k.isa) == "scalar") return;
  std::vector<double> s(scalar, scalar + n);
  h.check(op + " " + k.isa + " vs scalar", name, got, s.data(), n, bound);
}

// ---- Linear GEMMs: every Linear kernel of kernel_list.inc that runs here (linear_checks.cc).
void check_linear_gemms(Harness& h) {
  for (const cpu::LinearKernelEntry& entry : cpu::linear_kernels()) {
    if (entry.runs) {
      check_linear_kernel(h, entry.kernel);
    } else {
      h.skip(entry.kernel.name, std::string("this CPU does not run it (table ") + entry.kernel.table + ")");
    }
  }
}

// ---- row ops on [rows, cols] inside a wider ld ----
template <typename Op, typename Ref>
void check_rows(Harness& h, const std::vector<const KernelTable*>& tables, const std::string& op, double bound, Op run, Ref reference) {
  for (int rows : {1, 3}) {
    for (int cols : kLengths) {
      const int ld = cols + 3;
      const auto x0 = random_vec(static_cast<size_t>(rows) * ld, 6000 + cols * 3 + rows);
      std::vector<double> ref(static_cast<size_t>(rows) * cols);
      for (int r = 0; r < rows; ++r) reference(x0.data() + static_cast<size_t>(r) * ld, cols, ref.data() + static_cast<size_t>(r) * cols);
      std::vector<float> scalar_out, x(x0);
      run(cpu::kernels_scalar(), x.data(), rows, cols, ld);
      for (int r = 0; r < rows; ++r) scalar_out.insert(scalar_out.end(), x.begin() + r * ld, x.begin() + r * ld + cols);
      for (const KernelTable* t : tables) {
        Guarded x(x0.size());
        std::copy(x0.begin(), x0.end(), x.data());
        run(*t, x.data(), rows, cols, ld);
        std::vector<float> got;
        bool clean = x.guards_intact();
        for (int r = 0; r < rows; ++r) {
          got.insert(got.end(), x.data() + r * ld, x.data() + r * ld + cols);
          for (int j = cols; j < ld; ++j) clean = clean && x.data()[r * ld + j] == x0[static_cast<size_t>(r) * ld + j];
        }
        const std::string name = size_name({rows, cols});
        h.expect(op + " " + t->isa + " no stray writes", name, clean, "wrote outside its rows");
        check_both(h, op, *t, name, got.data(), ref.data(), scalar_out.data(), got.size(), bound);
      }
    }
  }
}

void check_row_ops(Harness& h, const std::vector<const KernelTable*>& tables) {
  const float eps = 1e-5f;
  check_rows(h, tables, "rmsnorm_rows", kNormBound,
             [&](const KernelTable& t, float* x, int rows, int cols, int ld) { t.rmsnorm_rows(x, rows, cols, ld, eps); },
             [&](const float* x, int cols, double* out) {
               double ss = 0;
               for (int j = 0; j < cols; ++j) ss += static_cast<double>(x[j]) * x[j];
               const double scale = 1.0 / std::sqrt(ss / cols + eps);
               for (int j = 0; j < cols; ++j) out[j] = x[j] * scale;
             });
  // Attention's scale is positive (the AVX-512 kernel then takes the max before scaling);
  // a negative one takes the other path.
  for (const float scale : {0.37f, -0.37f}) {
    check_rows(h, tables, scale > 0 ? "softmax_rows" : "softmax_rows (negative scale)", kSoftmaxBound,
               [&](const KernelTable& t, float* x, int rows, int cols, int ld) { t.softmax_rows(x, rows, cols, ld, scale); },
               [&](const float* x, int cols, double* out) {
                 double mx = -1e300, sum = 0;
                 for (int j = 0; j < cols; ++j) mx = std::max(mx, static_cast<double>(scale) * x[j]);
                 for (int j = 0; j < cols; ++j) sum += (out[j] = std::exp(static_cast<double>(scale) * x[j] - mx));
                 for (int j = 0; j < cols; ++j) out[j] /= sum;
               });
  }
}

// ---- silu_mul: out[r][i] = silu(gu[r][i]) * gu[r][inter + i] ----
void check_silu_mul(Harness& h, const std::vector<const KernelTable*>& tables) {
  for (int rows : {1, 3}) {
    for (int inter : kLengths) {
      const auto gu = random_vec(static_cast<size_t>(rows) * 2 * inter, 7000 + inter + rows);
      std::vector<double> ref(static_cast<size_t>(rows) * inter);
      for (int r = 0; r < rows; ++r) {
        for (int i = 0; i < inter; ++i) {
          const double g = gu[static_cast<size_t>(r) * 2 * inter + i];
          ref[static_cast<size_t>(r) * inter + i] = g / (1.0 + std::exp(-g)) * gu[static_cast<size_t>(r) * 2 * inter + inter + i];
        }
      }
      std::vector<float> scalar_out(ref.size());
      cpu::kernels_scalar().silu_mul(gu.data(), rows, inter, scalar_out.data());
      for (const KernelTable* t : tables) {
        Guarded out(ref.size());
        t->silu_mul(gu.data(), rows, inter, out.data());
        const std::string name = size_name({rows, inter});
        h.expect(std::string("silu_mul ") + t->isa + " no stray writes", name, out.guards_intact(), "wrote outside its output");
        check_both(h, "silu_mul", *t, name, out.data(), ref.data(), scalar_out.data(), ref.size(), kSiluBound);
      }
    }
  }
}

// ---- add, axpy, dot on length-n vectors ----
void check_vector_ops(Harness& h, const std::vector<const KernelTable*>& tables) {
  for (int n : kLengths) {
    const auto x = random_vec(n, 8000 + n), y0 = random_vec(n, 9000 + n);
    const float alpha = -0.75f;
    std::vector<double> add_ref(n), axpy_ref(n);
    double dot_ref = 0, dot_scale = 0;
    for (int i = 0; i < n; ++i) {
      add_ref[i] = static_cast<double>(y0[i]) + x[i];
      axpy_ref[i] = static_cast<double>(y0[i]) + static_cast<double>(alpha) * x[i];
      dot_ref += static_cast<double>(x[i]) * y0[i];
      dot_scale += std::fabs(static_cast<double>(x[i]) * y0[i]);
    }
    std::vector<float> s_add(y0), s_axpy(y0);
    const KernelTable& scalar = cpu::kernels_scalar();
    scalar.add(s_add.data(), x.data(), n);
    scalar.axpy(alpha, x.data(), s_axpy.data(), n);
    const float s_dot = scalar.dot(x.data(), y0.data(), n);
    const std::string name = std::to_string(n);
    for (const KernelTable* t : tables) {
      Guarded sum(n), acc(n);
      std::copy(y0.begin(), y0.end(), sum.data());
      std::copy(y0.begin(), y0.end(), acc.data());
      t->add(sum.data(), x.data(), n);
      t->axpy(alpha, x.data(), acc.data(), n);
      const float d = t->dot(x.data(), y0.data(), n);
      h.expect(std::string("add/axpy ") + t->isa + " no stray writes", name, sum.guards_intact() && acc.guards_intact(),
               "wrote outside its vector");
      // One fp32 rounding of each sum: every table gives the same bits.
      check_both(h, "add", *t, name, sum.data(), add_ref.data(), s_add.data(), n, 1e-7);
      check_both(h, "axpy", *t, name, acc.data(), axpy_ref.data(), s_axpy.data(), n, kAxpyBound);
      h.check_value(std::string("dot ") + t->isa, name, d, dot_ref, dot_scale, kDotBound);
      if (std::string(t->isa) != "scalar") h.check_value(std::string("dot ") + t->isa + " vs scalar", name, d, s_dot, dot_scale, kDotBound);
    }
  }
}

// ---- rope on `vectors` head vectors: every table bit for bit with the scalar one ----
void check_rope(Harness& h, const std::vector<const KernelTable*>& tables) {
  for (int vectors : {1, 3}) {
    for (int hd : {2, 8, 14, 16, 30, 32, 34, 64, 66}) {
      const size_t n = static_cast<size_t>(vectors) * hd;
      const auto x0 = random_vec(n, 11000 + hd * 3 + vectors);
      const auto cos = random_vec(hd, 12000 + hd), sin = random_vec(hd, 13000 + hd);
      std::vector<double> ref(n);
      for (int v = 0; v < vectors; ++v) {
        const float* x = x0.data() + static_cast<size_t>(v) * hd;
        for (int j = 0; j < hd / 2; ++j) {
          ref[v * hd + j] = static_cast<double>(x[j]) * cos[j] - static_cast<double>(x[j + hd / 2]) * sin[j];
          ref[v * hd + j + hd / 2] = static_cast<double>(x[j + hd / 2]) * cos[j + hd / 2] + static_cast<double>(x[j]) * sin[j + hd / 2];
        }
      }
      std::vector<float> scalar_out(x0);
      cpu::kernels_scalar().rope(scalar_out.data(), vectors, hd, cos.data(), sin.data());
      const std::string name = size_name({vectors, hd});
      for (const KernelTable* t : tables) {
        Guarded x(n);
        std::copy(x0.begin(), x0.end(), x.data());
        t->rope(x.data(), vectors, hd, cos.data(), sin.data());
        h.expect(std::string("rope ") + t->isa + " no stray writes", name, x.guards_intact(), "wrote outside its vectors");
        h.check(std::string("rope ") + t->isa, name, x.data(), ref.data(), n, kRopeBound);
        if (std::string(t->isa) == "scalar") continue;
        h.expect(std::string("rope ") + t->isa + " vs scalar bit for bit", name,
                 std::memcmp(x.data(), scalar_out.data(), n * sizeof(float)) == 0, "differs from the scalar rope");
      }
    }
  }
}

// ---- pack_rows: the layout of kernels.h written out again, at panel and vector edges ----
void check_pack_rows(Harness& h, const std::vector<const KernelTable*>& tables) {
  for (int n : {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 81}) {
    for (int k : {1, 2, 15, 16, 17, 24, 31, 33, 64, 65}) {
      const size_t stride = static_cast<size_t>(k) + 5;
      const auto src = random_vec(static_cast<size_t>(n) * stride, 14000 + n * 7 + k);
      const std::string name = size_name({n, k});
      for (const KernelTable* t : tables) {
        const size_t size = cpu::packed_linear_size(n, k, t->nr);
        // packed[(p*k + kk)*nr + j] = W[p*nr + j][kk], the last panel's missing rows zero.
        std::vector<float> expected(size, 0.f);
        for (int row = 0; row < n; ++row) {
          const int p = row / t->nr, j = row % t->nr;
          for (int kk = 0; kk < k; ++kk) expected[(static_cast<size_t>(p) * k + kk) * t->nr + j] = src[row * stride + kk];
        }
        Guarded got(size);
        t->pack_rows(src.data(), n, k, stride, got.data());
        h.expect(std::string("pack_rows ") + t->isa + " no stray writes", name, got.guards_intact(), "wrote outside its panels");
        h.expect(std::string("pack_rows ") + t->isa + " layout", name,
                 std::memcmp(got.data(), expected.data(), size * sizeof(float)) == 0, "packed differently");
      }
    }
  }
}

// ---- transpose_rows: dst[j][t] = src[t][j] (+ a (+ b)), at vector edges, bit for bit ----
void check_transpose_rows(Harness& h, const std::vector<const KernelTable*>& tables) {
  for (int rows : {1, 15, 16, 17, 33, 97}) {
    for (int cols : {1, 7, 16, 17, 40, 97}) {
      for (int adds = 0; adds <= 2; ++adds) {
        const size_t ld_src = cols + 3, ld_dst = rows + 5;
        const auto src = random_vec(rows * ld_src, 30000 + rows * 7 + cols);
        const auto a = random_vec(rows * ld_src, 31000 + rows * 7 + cols);
        const auto b = random_vec(rows * ld_src, 32000 + rows * 7 + cols);
        const float* add_a = adds >= 1 ? a.data() : nullptr;
        const float* add_b = adds == 2 ? b.data() : nullptr;
        // The statement written out again: each output one fp32 sum in that order.
        std::vector<float> expected(cols * ld_dst, kSentinel);
        for (int t = 0; t < rows; ++t) {
          for (int j = 0; j < cols; ++j) {
            const size_t at = t * ld_src + j;
            expected[j * ld_dst + t] = adds == 0 ? src[at] : adds == 1 ? src[at] + a[at] : src[at] + (a[at] + b[at]);
          }
        }
        const std::string name = std::to_string(rows) + "x" + std::to_string(cols) + (adds ? " + " + std::to_string(adds) : "");
        for (const KernelTable* t : tables) {
          Guarded got(cols * ld_dst);
          std::fill(got.data(), got.data() + cols * ld_dst, kSentinel);
          t->transpose_rows(src.data(), add_a, add_b, ld_src, rows, cols, got.data(), ld_dst);
          h.expect(std::string("transpose_rows ") + t->isa + " no stray writes", name, got.guards_intact(), "wrote outside dst");
          h.expect(std::string("transpose_rows ") + t->isa + " bit for bit", name,
                   std::memcmp(got.data(), expected.data(), expected.size() * sizeof(float)) == 0,
                   "differs from src[t][j] (+ a (+ b)) at dst[j][t], or touched the padding");
        }
      }
    }
  }
}

// ---- attention of one head on qkv rows [T, 3 * hidden] ----
void check_attention(Harness& h, const std::vector<const KernelTable*>& tables) {
  for (int T : {1, 7, 8, 9, 16, 17, 31, 32, 33, 81, 400}) {
    for (int hd : {8, 16, 24, 32, 64}) {
      const int heads = 2, hidden = heads * hd, head = 1;
      const size_t stride = 3 * static_cast<size_t>(hidden);
      const auto qkv = random_vec(static_cast<size_t>(T) * stride, 10000 + T * 5 + hd);
      const float* base = qkv.data() + head * hd;
      const std::vector<double> ref = attention_reference(base, stride, hidden, T, hd, false);
      auto run = [&](const KernelTable& t, std::vector<float>& out) {
        std::vector<float> keys(cpu::attention_keys_size(T, hd, t.nr)), values(cpu::attention_values_size(T, hd, t.nr));
        std::vector<float> scores(cpu::attention_scores_size(T));
        // Written into a [T, hidden] block at the head's columns, as the recursion does.
        Guarded block(static_cast<size_t>(T) * hidden);
        cpu::attention_head(t, base, stride, hidden, T, hd, keys.data(), values.data(), scores.data(), block.data() + head * hd, hidden);
        return head_columns(block, T, hidden, head, hd, out);
      };
      std::vector<float> scalar_out;
      run(cpu::kernels_scalar(), scalar_out);
      for (const KernelTable* t : tables) {
        std::vector<float> got;
        const std::string name = "T " + std::to_string(T) + " head_dim " + std::to_string(hd);
        h.expect(std::string("attention ") + t->isa + " no stray writes", name, run(*t, got), "wrote outside its head");
        check_both(h, "attention", *t, name, got.data(), ref.data(), scalar_out.data(), got.size(), kAttentionBound);
      }
    }
  }
}

// ---- bf16 rounding: the one definition (core/bf16.h) on values with known answers ----
void check_bf16_rounding(Harness& h) {
  struct Case { float in; uint16_t out; const char* what; };
  const Case cases[] = {
      {1.0f, 0x3f80, "1"}, {-2.5f, 0xc020, "-2.5"}, {1.00390625f, 0x3f80, "tie to even (down)"},
      {1.01171875f, 0x3f82, "tie to even (up)"}, {1e-40f, 0x0000, "subnormal flushes to +0"},
      {-1e-40f, 0x8000, "subnormal flushes to -0"}, {INFINITY, 0x7f80, "+inf"},
  };
  for (const Case& c : cases) {
    const uint16_t got = bf16_from_f32(c.in);
    char why[64];
    std::snprintf(why, sizeof(why), "got 0x%04x, expected 0x%04x", got, c.out);
    h.expect("bf16_from_f32", c.what, got == c.out, why);
  }
  const uint16_t nan = bf16_from_f32(NAN);
  h.expect("bf16_from_f32", "NaN stays NaN", (nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0, "NaN lost");
}

}  // namespace
}  // namespace trm::tests

int main() {
  using namespace trm;
  tests::Harness h;
  std::vector<const cpu::KernelTable*> tables;
  std::string names;
  for (const std::string& isa : cpu::supported_isas()) {
    tables.push_back(cpu::find_kernels(isa));
    names += (names.empty() ? "" : ", ") + isa + " (nr " + std::to_string(tables.back()->nr) + ")";
  }
  std::printf("op harness: CPU tables %s\n", names.c_str());
  tests::check_bf16_rounding(h);
  tests::check_linear_gemms(h);
  tests::check_row_ops(h, tables);
  tests::check_silu_mul(h, tables);
  tests::check_vector_ops(h, tables);
  tests::check_rope(h, tables);
  tests::check_pack_rows(h, tables);
  tests::check_attention(h, tables);
  tests::check_transpose_rows(h, tables);
  tests::check_cuda_ops(h);
  return h.finish();
}
