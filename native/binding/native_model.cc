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
                      InstanceAccessor<&NativeModel::Bf16Compute>("bf16Compute")});
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

  Precision precision = Precision::kFp32;
  Napi::Value precision_value = options.Get("precision");
  if (!precision_value.IsUndefined() && !precision_value.IsNull()) {
    const std::string name = precision_value.ToString().Utf8Value();
    if (name == "bf16") {
      precision = Precision::kBf16;
    } else if (name != "fp32") {
      throw make_error(env, "precision must be 'fp32' or 'bf16'", "TRM_OPTION");
    }
  }

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
  return Napi::String::New(info.Env(), model(info.Env())->precision() == Precision::kBf16 ? "bf16" : "fp32");
}

// How this model's bf16 GEMM multiplies ("vdpbf16ps" or "fp32 fma"); null for fp32 models.
Napi::Value NativeModel::Bf16Compute(const Napi::CallbackInfo& info) {
  const auto m = model(info.Env());
  if (m->precision() != Precision::kBf16) return info.Env().Null();
  return Napi::String::New(info.Env(), m->kernels().bf16_compute);
}

Napi::Value NativeModel::Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), model(info.Env())->kernels().isa);
}

Napi::Value NativeModel::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model(info.Env())->threads());
}

}  // namespace trm::binding
