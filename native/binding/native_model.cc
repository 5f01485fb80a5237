#include "binding/native_model.h"

#include <string>
#include <thread>

#include "binding/convert.h"
#include "binding/model_args.h"
#include "binding/request_io.h"
#include "cpu/dispatch.h"

namespace trm::binding {

Napi::Function NativeModel::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {InstanceMethod<&NativeModel::Infer>("infer"), InstanceMethod<&NativeModel::InferSync>("inferSync"),
                      InstanceMethod<&NativeModel::Dispose>("dispose"), InstanceAccessor<&NativeModel::Isa>("isa"),
                      InstanceAccessor<&NativeModel::Threads>("threads"),
                      InstanceAccessor<&NativeModel::PrecisionName>("precision"),
                      InstanceAccessor<&NativeModel::Bf16Compute>("bf16Compute"),
                      InstanceAccessor<&NativeModel::Int8Compute>("int8Compute"),
                      InstanceAccessor<&NativeModel::LinearKernelName>("linearKernel"),
                      InstanceAccessor<&NativeModel::AmxStatus>("amxStatus")});
}

// new NativeModel(spec, weights: { [name]: Float32Array }, options: { threads, isa, precision })
NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
    throw_argument(env, "NativeModel(spec, weights, options) takes three objects");
  }
  const ModelSpec spec = read_spec(info[0].As<Napi::Object>());
  const Napi::Object options = info[2].As<Napi::Object>();
  const cpu::KernelTable& kernels = read_kernels(options);
  const int threads = read_threads(options);

  const Precision precision = read_precision(options, true, true, "the native CPU backend");

  // Views into the JS arrays; Model copies and packs them before this constructor returns.
  const WeightViews weights = read_weights(info[1].As<Napi::Object>());
  try {
    model_ = std::make_shared<const Model>(spec, weights, kernels, threads, precision);
  } catch (const Error& e) {
    throw make_error(env, e.what(), error_code(e.kind()));
  } catch (const std::bad_alloc&) {
    throw make_error(env, "out of memory while loading the model", "TRM_OUT_OF_MEMORY");
  }
}

std::shared_ptr<const Model> NativeModel::model(Napi::Env env) const {
  if (!model_) throw make_error(env, "model has been disposed", "TRM_DISPOSED");
  return model_;
}

Napi::Value NativeModel::Infer(const Napi::CallbackInfo& info) { return queue_infer<Model>(info, model(info.Env())); }

Napi::Value NativeModel::InferSync(const Napi::CallbackInfo& info) { return infer_sync<Model>(info, model(info.Env())); }

Napi::Value NativeModel::Dispose(const Napi::CallbackInfo& info) {
  model_.reset();
  return info.Env().Undefined();
}

Napi::Value NativeModel::PrecisionName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), precision_name(model(info.Env())->precision()));
}

// How this model's bf16 GEMM multiplies (the label of its kernel_list.inc entry, e.g.
// "vdpbf16ps", "fp32 fma on bf16 values", "amx-bf16"); null for other precisions.
Napi::Value NativeModel::Bf16Compute(const Napi::CallbackInfo& info) {
  const auto m = model(info.Env());
  if (m->precision() != Precision::kBf16) return info.Env().Null();
  return Napi::String::New(info.Env(), m->linear_kernel().label);
}

// Which int8 GEMM runs ("amx-int8", "vpdpbusd", "avx-vnni", "avx2", "scalar"); null unless int8.
Napi::Value NativeModel::Int8Compute(const Napi::CallbackInfo& info) {
  const auto m = model(info.Env());
  if (m->precision() != Precision::kInt8) return info.Env().Null();
  return Napi::String::New(info.Env(), m->linear_kernel().label);
}

// The microkernel of every Linear layer, by its kernel_list.inc name.
Napi::Value NativeModel::LinearKernelName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), model(info.Env())->linear_kernel().name);
}

// null where the amx table runs; otherwise why not (CPUID, the OS, or the build).
Napi::Value NativeModel::AmxStatus(const Napi::CallbackInfo& info) {
  model(info.Env());
  const std::string& why = cpu::why_not_amx();
  if (why.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), why);
}

Napi::Value NativeModel::Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), model(info.Env())->kernels().isa);
}

Napi::Value NativeModel::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model(info.Env())->threads());
}

}  // namespace trm::binding
