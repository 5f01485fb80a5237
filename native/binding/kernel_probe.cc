// kernelProbe: each function runs one kernel of one ISA on caller-owned Float32Arrays
// (results written in place), for tests only. Everything is checked before a kernel runs:
// a bad argument throws a TypeError (wrong type) or RangeError (bad value, unknown ISA,
// wrong length) instead of letting a kernel read or write out of bounds.
#include "binding/kernel_probe.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "cpu/dispatch.h"
#include "cpu/int8.h"
#include "cpu/kernels.h"
#include "cpu/linear.h"
#include "cpu/peak.h"

namespace trm::binding {
namespace {

// Sizes above this are refused: the products below must fit in int and in memory.
constexpr double kMaxDim = 1 << 20;

[[noreturn]] void throw_type(Napi::Env env, const std::string& fn, const std::string& message) {
  throw Napi::TypeError::New(env, "kernelProbe." + fn + ": " + message);
}

[[noreturn]] void throw_range(Napi::Env env, const std::string& fn, const std::string& message) {
  throw Napi::RangeError::New(env, "kernelProbe." + fn + ": " + message);
}

void expect_args(const Napi::CallbackInfo& info, const char* fn, size_t count) {
  if (info.Length() != count) {
    throw_type(info.Env(), fn,
               "expected " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }
}

const cpu::KernelTable& table_arg(const Napi::CallbackInfo& info, const char* fn, size_t i) {
  if (!info[i].IsString()) throw_type(info.Env(), fn, "isa must be a string");
  const std::string isa = info[i].As<Napi::String>().Utf8Value();
  const cpu::KernelTable* table = cpu::find_kernels(isa);
  if (!table) {
    std::string known;
    for (const auto& name : cpu::supported_isas()) known += (known.empty() ? "" : ", ") + name;
    throw_range(info.Env(), fn, "isa '" + isa + "' is unknown or not supported here (supported: " + known + ")");
  }
  return *table;
}

// A non-negative integer no larger than kMaxDim, at least `min`.
int dim_arg(const Napi::CallbackInfo& info, const char* fn, size_t i, const char* name, int min) {
  if (!info[i].IsNumber()) throw_type(info.Env(), fn, std::string(name) + " must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= kMaxDim) || d != std::floor(d)) {
    throw_range(info.Env(), fn,
                std::string(name) + " = " + std::to_string(d) + ", expected an integer in [" +
                    std::to_string(min) + ", " + std::to_string(static_cast<int>(kMaxDim)) + "]");
  }
  return static_cast<int>(d);
}

double number_arg(const Napi::CallbackInfo& info, const char* fn, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw_type(info.Env(), fn, std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// A Float32Array of exactly `expected` elements (-1: any length).
Napi::Float32Array f32_arg(const Napi::CallbackInfo& info, const char* fn, size_t i, const char* name,
                           double expected) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_type(info.Env(), fn, std::string(name) + " must be a Float32Array");
  }
  Napi::Float32Array array = info[i].As<Napi::Float32Array>();
  if (expected >= 0 && static_cast<double>(array.ElementLength()) != expected) {
    throw_range(info.Env(), fn,
                std::string(name) + " has length " + std::to_string(array.ElementLength()) + ", expected " +
                    std::to_string(static_cast<size_t>(expected)));
  }
  return array;
}

Napi::Value Isas(const Napi::CallbackInfo& info) {
  expect_args(info, "isas", 0);
  const auto isas = cpu::supported_isas();
  Napi::Array out = Napi::Array::New(info.Env(), isas.size());
  for (size_t i = 0; i < isas.size(); ++i) out.Set(static_cast<uint32_t>(i), isas[i]);
  return out;
}

// The operands both GEMM probes take after the isa: m, n, k, a[m*k], w[n*k], c[m*n], accumulate.
struct GemmArgs {
  int m, n, k;
  Napi::Float32Array a, w, c;
  bool accumulate;
};

GemmArgs gemm_args(const Napi::CallbackInfo& info, const char* fn) {
  GemmArgs g;
  g.m = dim_arg(info, fn, 1, "m", 0);
  g.n = dim_arg(info, fn, 2, "n", 1);
  g.k = dim_arg(info, fn, 3, "k", 1);
  g.a = f32_arg(info, fn, 4, "a", static_cast<double>(g.m) * g.k);
  g.w = f32_arg(info, fn, 5, "w", static_cast<double>(g.n) * g.k);
  g.c = f32_arg(info, fn, 6, "c", static_cast<double>(g.m) * g.n);
  if (!info[7].IsBoolean()) throw_type(info.Env(), fn, "accumulate must be a boolean");
  g.accumulate = info[7].As<Napi::Boolean>().Value();
  return g;
}

// gemm(isa, m, n, k, a[m*k], w[n*k] (PyTorch layout, packed here for the table), c[m*n], accumulate)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemm";
  expect_args(info, fn, 8);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  GemmArgs g = gemm_args(info, fn);
  std::vector<float> packed(cpu::packed_linear_size(g.n, g.k, t.nr));
  cpu::pack_linear(g.w.Data(), g.n, g.k, t.nr, packed.data());
  t.gemm(packed.data(), g.n, g.k, g.a.Data(), g.k, g.c.Data(), g.n, g.m, g.accumulate);
  return info.Env().Undefined();
}

// rmsnormRows(isa, x[rows*cols], rows, cols, eps): in place, ld = cols.
Napi::Value RmsnormRows(const Napi::CallbackInfo& info) {
  const char* fn = "rmsnormRows";
  expect_args(info, fn, 5);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  const int rows = dim_arg(info, fn, 2, "rows", 0);
  const int cols = dim_arg(info, fn, 3, "cols", 1);
  Napi::Float32Array x = f32_arg(info, fn, 1, "x", static_cast<double>(rows) * cols);
  const double eps = number_arg(info, fn, 4, "eps");
  if (!(eps >= 0)) throw_range(info.Env(), fn, "eps = " + std::to_string(eps) + ", expected >= 0");
  t.rmsnorm_rows(x.Data(), rows, cols, cols, static_cast<float>(eps));
  return info.Env().Undefined();
}

// siluMul(isa, gateUp[rows*2*inter], rows, inter, out[rows*inter])
Napi::Value SiluMul(const Napi::CallbackInfo& info) {
  const char* fn = "siluMul";
  expect_args(info, fn, 5);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  const int rows = dim_arg(info, fn, 2, "rows", 0);
  const int inter = dim_arg(info, fn, 3, "inter", 1);
  Napi::Float32Array gu = f32_arg(info, fn, 1, "gateUp", 2.0 * rows * inter);
  Napi::Float32Array out = f32_arg(info, fn, 4, "out", static_cast<double>(rows) * inter);
  t.silu_mul(gu.Data(), rows, inter, out.Data());
  return info.Env().Undefined();
}

// add(isa, x, y): x += y
Napi::Value Add(const Napi::CallbackInfo& info) {
  const char* fn = "add";
  expect_args(info, fn, 3);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  Napi::Float32Array x = f32_arg(info, fn, 1, "x", -1);
  Napi::Float32Array y = f32_arg(info, fn, 2, "y", static_cast<double>(x.ElementLength()));
  t.add(x.Data(), y.Data(), x.ElementLength());
  return info.Env().Undefined();
}

// Length of a Float32Array for the int-sized kernels (dot, axpy).
int int_length(const Napi::CallbackInfo& info, const char* fn, const Napi::Float32Array& x, const char* name) {
  if (static_cast<double>(x.ElementLength()) > kMaxDim) {
    throw_range(info.Env(), fn, std::string(name) + " is longer than " + std::to_string(static_cast<int>(kMaxDim)));
  }
  return static_cast<int>(x.ElementLength());
}

// dot(isa, a, b): number
Napi::Value Dot(const Napi::CallbackInfo& info) {
  const char* fn = "dot";
  expect_args(info, fn, 3);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  Napi::Float32Array a = f32_arg(info, fn, 1, "a", -1);
  Napi::Float32Array b = f32_arg(info, fn, 2, "b", static_cast<double>(a.ElementLength()));
  const int n = int_length(info, fn, a, "a");
  return Napi::Number::New(info.Env(), t.dot(a.Data(), b.Data(), n));
}

// axpy(isa, alpha, x, y): y += alpha * x
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  const char* fn = "axpy";
  expect_args(info, fn, 4);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  const double alpha = number_arg(info, fn, 1, "alpha");
  Napi::Float32Array x = f32_arg(info, fn, 2, "x", -1);
  Napi::Float32Array y = f32_arg(info, fn, 3, "y", static_cast<double>(x.ElementLength()));
  const int n = int_length(info, fn, x, "x");
  t.axpy(static_cast<float>(alpha), x.Data(), y.Data(), n);
  return info.Env().Undefined();
}

// softmaxRows(isa, x[rows*cols], rows, cols, scale): in place, ld = cols.
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxRows";
  expect_args(info, fn, 5);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  const int rows = dim_arg(info, fn, 2, "rows", 0);
  const int cols = dim_arg(info, fn, 3, "cols", 1);
  Napi::Float32Array x = f32_arg(info, fn, 1, "x", static_cast<double>(rows) * cols);
  const double scale = number_arg(info, fn, 4, "scale");
  t.softmax_rows(x.Data(), rows, cols, cols, static_cast<float>(scale));
  return info.Env().Undefined();
}

// Packs w with the Linear kernel and runs it on the probe's operands.
void run_linear_probe(const cpu::LinearKernel& kernel, GemmArgs g) {
  const cpu::PackedLinear packed = cpu::pack_linear_weight(*kernel.impl, g.w.Data(), g.n, g.k);
  cpu::run_linear(packed, g.a.Data(), g.k, g.c.Data(), g.n, g.m, g.accumulate);
}

// gemmBf16(isa, m, n, k, a[m*k], w[n*k] (fp32, rounded and packed here), c[m*n], accumulate):
// the bf16 Linear kernel that table uses.
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  const char* fn = "gemmBf16";
  expect_args(info, fn, 8);
  const cpu::KernelTable& t = table_arg(info, fn, 0);
  run_linear_probe(*t.linear_bf16, gemm_args(info, fn));
  return info.Env().Undefined();
}

// gemmLinear(kernel, m, n, k, a, w, c, accumulate): one kernel_list.inc GEMM by name, on its
// own layout and dtype (w in fp32, rounded or quantized and packed here).
Napi::Value GemmLinear(const Napi::CallbackInfo& info) {
  const char* fn = "gemmLinear";
  expect_args(info, fn, 8);
  if (!info[0].IsString()) throw_type(info.Env(), fn, "kernel must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const cpu::LinearKernel* kernel = cpu::find_linear_kernel(name);
  if (!kernel) throw_range(info.Env(), fn, "kernel '" + name + "' is unknown or does not run on this CPU");
  run_linear_probe(*kernel, gemm_args(info, fn));
  return info.Env().Undefined();
}

// linearKernels(): every kernel_list.inc GEMM of this build, with whether it runs here.
Napi::Value LinearKernels(const Napi::CallbackInfo& info) {
  expect_args(info, "linearKernels", 0);
  Napi::Env env = info.Env();
  const auto& entries = cpu::linear_kernels();
  Napi::Array out = Napi::Array::New(env, entries.size());
  const char* dtypes[] = {"f32", "bf16", "int8"};
  for (size_t i = 0; i < entries.size(); ++i) {
    const cpu::LinearKernel& k = entries[i].kernel;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", k.name);
    o.Set("table", k.table);
    o.Set("dtype", dtypes[static_cast<int>(k.dtype)]);
    o.Set("mr", k.mr);
    o.Set("nr", k.nr);
    o.Set("lanes", k.lanes);
    o.Set("label", k.label);
    o.Set("runs", entries[i].runs);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

// quantizeInt8(w[n*k], n, k, q: Int8Array[n*k], scales[n]): the weight side of int8.h's scheme.
Napi::Value QuantizeInt8(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeInt8";
  expect_args(info, fn, 5);
  const int n = dim_arg(info, fn, 1, "n", 1);
  const int k = dim_arg(info, fn, 2, "k", 1);
  Napi::Float32Array w = f32_arg(info, fn, 0, "w", static_cast<double>(n) * k);
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int8_array) {
    throw_type(info.Env(), fn, "q must be an Int8Array");
  }
  Napi::Int8Array q = info[3].As<Napi::Int8Array>();
  if (static_cast<double>(q.ElementLength()) != static_cast<double>(n) * k) throw_range(info.Env(), fn, "q must hold n * k values");
  Napi::Float32Array scales = f32_arg(info, fn, 4, "scales", n);
  cpu::quantize_weight_int8(w.Data(), n, k, q.Data(), scales.Data());
  return info.Env().Undefined();
}

// timeLinear(kernel, m, n, k, reps): seconds per call (the median of `reps`) of one
// kernel_list.inc GEMM on random operands, the weight packed once beforehand: for the
// benchmarks' per-kernel figures only (it blocks the caller).
Napi::Value TimeLinear(const Napi::CallbackInfo& info) {
  const char* fn = "timeLinear";
  expect_args(info, fn, 5);
  if (!info[0].IsString()) throw_type(info.Env(), fn, "kernel must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const cpu::LinearKernel* kernel = cpu::find_linear_kernel(name);
  if (!kernel) throw_range(info.Env(), fn, "kernel '" + name + "' is unknown or does not run on this CPU");
  const int m = dim_arg(info, fn, 1, "m", 1), n = dim_arg(info, fn, 2, "n", 1), k = dim_arg(info, fn, 3, "k", 1);
  const int reps = dim_arg(info, fn, 4, "reps", 1);
  if (static_cast<double>(m) * k > 1e8 || static_cast<double>(n) * k > 1e8 || static_cast<double>(m) * n > 1e8) {
    throw_range(info.Env(), fn, "m * k, n * k and m * n must each be <= 1e8");
  }
  std::vector<float> a(static_cast<size_t>(m) * k), w(static_cast<size_t>(n) * k), c(static_cast<size_t>(m) * n);
  uint32_t state = 12345;
  auto next = [&] { state = state * 1664525u + 1013904223u; return static_cast<float>(state >> 8) / 16777216.f - 0.5f; };
  for (float& v : a) v = next();
  for (float& v : w) v = next();
  const cpu::PackedLinear packed = cpu::pack_linear_weight(*kernel->impl, w.data(), n, k);
  cpu::run_linear(packed, a.data(), k, c.data(), n, m, false);  // warm-up (scratch, caches)
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    cpu::run_linear(packed, a.data(), k, c.data(), n, m, false);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return Napi::Number::New(info.Env(), times[times.size() / 2]);
}

// bf16Compute(isa): how that table's bf16 Linear kernel multiplies.
Napi::Value Bf16ComputeOf(const Napi::CallbackInfo& info) {
  const char* fn = "bf16Compute";
  expect_args(info, fn, 1);
  return Napi::String::New(info.Env(), table_arg(info, fn, 0).linear_bf16->label);
}

// int8Compute(isa): which int8 kernel that table uses.
Napi::Value Int8ComputeOf(const Napi::CallbackInfo& info) {
  const char* fn = "int8Compute";
  expect_args(info, fn, 1);
  return Napi::String::New(info.Env(), table_arg(info, fn, 0).linear_int8->label);
}

// measurePeak(kind 'fp32' | 'bf16', threads, seconds): GFLOP/s, or null where there is no
// such loop on this CPU. Blocks the caller for `seconds`: for benchmarks only.
Napi::Value MeasurePeak(const Napi::CallbackInfo& info) {
  const char* fn = "measurePeak";
  expect_args(info, fn, 3);
  if (!info[0].IsString()) throw_type(info.Env(), fn, "kind must be a string");
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  if (kind != "fp32" && kind != "bf16" && kind != "int8" && kind != "amx-bf16" && kind != "amx-int8") {
    throw_range(info.Env(), fn, "kind must be 'fp32', 'bf16', 'int8', 'amx-bf16' or 'amx-int8'");
  }
  const int threads = dim_arg(info, fn, 1, "threads", 1);
  if (threads > 1024) throw_range(info.Env(), fn, "threads must be <= 1024");
  const double seconds = number_arg(info, fn, 2, "seconds");
  if (!(seconds > 0 && seconds <= 60)) throw_range(info.Env(), fn, "seconds must be in (0, 60]");
  const double gflops = cpu::measure_peak_gflops(kind, threads, seconds);
  return gflops < 0 ? info.Env().Null() : Napi::Number::New(info.Env(), gflops);
}

}  // namespace

void RegisterKernelProbe(Napi::Env env, Napi::Object exports) {
  Napi::Object probe = Napi::Object::New(env);
  probe.Set("isas", Napi::Function::New(env, Isas, "isas"));
  probe.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  probe.Set("rmsnormRows", Napi::Function::New(env, RmsnormRows, "rmsnormRows"));
  probe.Set("siluMul", Napi::Function::New(env, SiluMul, "siluMul"));
  probe.Set("add", Napi::Function::New(env, Add, "add"));
  probe.Set("dot", Napi::Function::New(env, Dot, "dot"));
  probe.Set("axpy", Napi::Function::New(env, Axpy, "axpy"));
  probe.Set("softmaxRows", Napi::Function::New(env, SoftmaxRows, "softmaxRows"));
  probe.Set("gemmBf16", Napi::Function::New(env, GemmBf16, "gemmBf16"));
  probe.Set("bf16Compute", Napi::Function::New(env, Bf16ComputeOf, "bf16Compute"));
  probe.Set("int8Compute", Napi::Function::New(env, Int8ComputeOf, "int8Compute"));
  probe.Set("gemmLinear", Napi::Function::New(env, GemmLinear, "gemmLinear"));
  probe.Set("linearKernels", Napi::Function::New(env, LinearKernels, "linearKernels"));
  probe.Set("timeLinear", Napi::Function::New(env, TimeLinear, "timeLinear"));
  probe.Set("quantizeInt8", Napi::Function::New(env, QuantizeInt8, "quantizeInt8"));
  probe.Set("measurePeak", Napi::Function::New(env, MeasurePeak, "measurePeak"));
  exports.Set("kernelProbe", probe);
}

}  // namespace trm::binding
