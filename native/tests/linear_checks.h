// The check of one Linear GEMM kernel (linear_checks.cc), shared by the op harness and the
// emulated AMX check.
#pragma once

#include <vector>

#include "cpu/linear.h"
#include "tests/harness.h"

namespace trm::tests {

// `kernel` (which must run on this CPU) at the tile edges of every table and at its own (mr,
// nr and 4 x lanes, each -1, 0, +1), plus the depths in `extra_ks`, and at row counts past
// one cache block: against float64, against the scalar kernel of its dtype, and for writes
// outside its output.
void check_linear_kernel(Harness& h, const cpu::LinearKernel& kernel, const std::vector<int>& extra_ks = {});

// Attention of one head in float64, as cpu/attention.h states it: q, k and v read from
// `base` at `stride` (k at +hidden, v at +2 * hidden), each rounded to bf16 first when
// `bf16_operands`; the result [T][head_dim].
std::vector<double> attention_reference(const float* base, size_t stride, int hidden, int T, int head_dim,
                                        bool bf16_operands);

// Columns [head * head_dim, (head + 1) * head_dim) of a [T][hidden] block, into `out`; false
// if any other value of the block lost kSentinel (or its guards were touched).
bool head_columns(const Guarded& block, int T, int hidden, int head, int head_dim, std::vector<float>& out);

}  // namespace trm::tests
