#include "binding/native_model.h"

#include "binding/convert.h"
#include "binding/model_args.h"
#include "binding/request_io.h"
#include "cpu/dispatch.h"

namespace trm::binding {

Napi::Function AddonModel::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {Method<&AddonModel::Infer>("infer"), Method<&AddonModel::InferSync>("inferSync"),
                      Method<&AddonModel::Dispose>("dispose"), Getter<&AddonModel::Isa>("isa"),
                      Getter<&AddonModel::Threads>("threads"), Getter<&AddonModel::PrecisionName>("precision"),
                      Getter<&AddonModel::Bf16Compute>("bf16Compute"), Getter<&AddonModel::Int8Compute>("int8Compute"),
                      Getter<&AddonModel::LinearKernelName>("linearKernel"), Getter<&AddonModel::AmxStatus>("amxStatus"),
                      Getter<&AddonModel::OneThreadBelowBatch>("oneThreadBelowBatch")});
}

// new NativeModel(spec, weights: { [name]: Float32Array }, options: { threads, isa, precision })
AddonModel::AddonModel(const Napi::CallbackInfo& info) : AddonWrap<AddonModel>(info) {
  Napi::Env env = info.Env();
  with_js_errors(env, "loading the model", [&] {
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
      throw_argument(env, "NativeModel(spec, weights, options) takes three objects");
    }
    const ModelSpec spec = read_spec(info[0].As<Napi::Object>());
    const Napi::Object options = info[2].As<Napi::Object>();
    const cpu::KernelTable& kernels = read_kernels(options);
    const int threads = read_threads(options);
    const Precision precision = read_precision(options, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, "the native CPU backend");
    // Views into the JS arrays; Model copies and packs them before this constructor returns.
    const WeightViews weights = read_weights(info[1].As<Napi::Object>());
    model_ = std::make_shared<const Model>(spec, weights, kernels, threads, precision);
  });
}

std::shared_ptr<const Model> AddonModel::model(Napi::Env env) const {
  if (!model_) throw make_error(env, "model has been disposed", "TRM_DISPOSED");
  return model_;
}

Napi::Value AddonModel::Infer(const Napi::CallbackInfo& info) { return queue_infer<Model>(info, model(info.Env())); }

Napi::Value AddonModel::InferSync(const Napi::CallbackInfo& info) { return infer_sync<Model>(info, model(info.Env())); }

Napi::Value AddonModel::Dispose(const Napi::CallbackInfo& info) {
  model_.reset();
  return info.Env().Undefined();
}

Napi::Value AddonModel::PrecisionName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), precision_name(model(info.Env())->precision()));
}

// How this model's bf16 GEMM multiplies (the label of its kernel_list.inc entry, e.g.
// "vdpbf16ps", "fp32 fma on bf16 values", "amx-bf16"); null for other precisions.
Napi::Value AddonModel::Bf16Compute(const Napi::CallbackInfo& info) {
  const auto m = model(info.Env());
  if (m->precision() != Precision::kBf16) return info.Env().Null();
  return Napi::String::New(info.Env(), m->linear_kernel().label);
}

// Which int8 GEMM runs ("amx-int8", "vpdpbusd", "avx-vnni", "avx2", "scalar"); null unless int8.
Napi::Value AddonModel::Int8Compute(const Napi::CallbackInfo& info) {
  const auto m = model(info.Env());
  if (m->precision() != Precision::kInt8) return info.Env().Null();
  return Napi::String::New(info.Env(), m->linear_kernel().label);
}

// The microkernel of every Linear layer, by its kernel_list.inc name.
Napi::Value AddonModel::LinearKernelName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), model(info.Env())->linear_kernel().name);
}

// null where the amx table runs; otherwise why not (CPUID, the OS, or the build).
Napi::Value AddonModel::AmxStatus(const Napi::CallbackInfo& info) {
  model(info.Env());
  const std::string& why = cpu::why_not_amx();
  if (why.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), why);
}

Napi::Value AddonModel::Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), model(info.Env())->kernels().isa);
}

Napi::Value AddonModel::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model(info.Env())->threads());
}

// Batches smaller than this run on the calling thread alone (core/forward.h).
Napi::Value AddonModel::OneThreadBelowBatch(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model(info.Env())->one_thread_below_batch());
}

}  // namespace trm::binding
