#include "binding/cuda_model.h"

#include <string>

#include "binding/convert.h"
#include "binding/model_args.h"
#include "binding/request_io.h"

#ifdef TRM_HAVE_CUDA
#include "cuda/cuda_model.h"
#endif

// TRM_CUDA_STATUS: one line on how CMake decided (cmake/trm_cuda.cmake).
#include "trm_cuda_status.h"

namespace trm::binding {

#ifdef TRM_HAVE_CUDA
// The model, with CUDA runtime failures turned into the binding's BackendFailure (TRM_BACKEND).
struct CudaHandle {
  std::unique_ptr<cuda::CudaModel> model;
  InferResult infer(const InferRequest& request) const {
    try {
      return model->infer(request);
    } catch (const cuda::DeviceError& e) {
      throw BackendFailure(e.what());
    }
  }
};
#else
struct CudaHandle {
  InferResult infer(const InferRequest&) const { throw BackendFailure("this build has no CUDA backend"); }
};
#endif

Napi::Function AddonCudaModel::Define(Napi::Env env) {
  return DefineClass(env, "CudaModel",
                     {Method<&AddonCudaModel::Infer>("infer"), Method<&AddonCudaModel::InferSync>("inferSync"),
                      Method<&AddonCudaModel::Dispose>("dispose"), Getter<&AddonCudaModel::PrecisionName>("precision"),
                      Getter<&AddonCudaModel::DeviceName>("deviceName")});
}

// new CudaModel(spec, weights: { [name]: Float32Array }, options: { precision, deviceIndex })
AddonCudaModel::AddonCudaModel(const Napi::CallbackInfo& info) : AddonWrap<AddonCudaModel>(info) {
  Napi::Env env = info.Env();
#ifndef TRM_HAVE_CUDA
  throw make_error(env, std::string("this build of trm-node has no CUDA backend: ") + TRM_CUDA_STATUS, "TRM_BACKEND");
#else
  with_js_errors(env, "loading the model", [&] {
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
      throw_argument(env, "CudaModel(spec, weights, options) takes three objects");
    }
    const ModelSpec spec = read_spec(info[0].As<Napi::Object>());
    const Napi::Object options = info[2].As<Napi::Object>();
    const Precision precision = read_precision(options, {Precision::kFp32, Precision::kBf16}, "the CUDA backend");
    int device = 0;
    if (!options.Get("deviceIndex").IsUndefined()) device = get_int(options, "deviceIndex");
    const WeightViews weights = read_weights(info[1].As<Napi::Object>());
    auto handle = std::make_shared<CudaHandle>();
    try {
      handle->model = std::make_unique<cuda::CudaModel>(spec, weights, precision, device);
    } catch (const cuda::DeviceError& e) {
      throw BackendFailure(e.what());
    }
    handle_ = std::move(handle);
  });
#endif
}

std::shared_ptr<const CudaHandle> AddonCudaModel::handle(Napi::Env env) const {
  if (!handle_) throw make_error(env, "model has been disposed", "TRM_DISPOSED");
  return handle_;
}

Napi::Value AddonCudaModel::Infer(const Napi::CallbackInfo& info) { return queue_infer<CudaHandle>(info, handle(info.Env())); }

Napi::Value AddonCudaModel::InferSync(const Napi::CallbackInfo& info) { return infer_sync<CudaHandle>(info, handle(info.Env())); }

Napi::Value AddonCudaModel::Dispose(const Napi::CallbackInfo& info) {
  handle_.reset();
  return info.Env().Undefined();
}

Napi::Value AddonCudaModel::PrecisionName(const Napi::CallbackInfo& info) {
#ifdef TRM_HAVE_CUDA
  return Napi::String::New(info.Env(), precision_name(handle(info.Env())->model->precision()));
#else
  return info.Env().Null();
#endif
}

Napi::Value AddonCudaModel::DeviceName(const Napi::CallbackInfo& info) {
#ifdef TRM_HAVE_CUDA
  return Napi::String::New(info.Env(), handle(info.Env())->model->device_name());
#else
  return info.Env().Null();
#endif
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
#ifdef TRM_HAVE_CUDA
  const cuda::CudaStatus status = cuda::cuda_status();
  out.Set("built", Napi::Boolean::New(env, true));
  out.Set("devices", Napi::Number::New(env, status.devices));
  if (!status.reason.empty()) out.Set("reason", Napi::String::New(env, status.reason));
#else
  out.Set("built", Napi::Boolean::New(env, false));
  out.Set("devices", Napi::Number::New(env, 0));
  out.Set("reason", Napi::String::New(env, TRM_CUDA_STATUS));
#endif
  out.Set("build", Napi::String::New(env, TRM_CUDA_STATUS));
  return out;
}

}  // namespace trm::binding
