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

}  // namespace trm::tests
