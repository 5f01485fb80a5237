// A test-only window onto the CPU kernel tables: `kernelProbe` runs one kernel of a named
// ISA on JS typed arrays, so test/native/kernels.test.ts can compare every SIMD table with
// the scalar reference at tile edges without going through a model.
#pragma once

#include <napi.h>

namespace trm::binding {

// Adds `exports.kernelProbe` = { isas, gemm, rmsnormRows, siluMul, add, dot, axpy }.
void RegisterKernelProbe(Napi::Env env, Napi::Object exports);

}  // namespace trm::binding
