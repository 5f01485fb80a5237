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
// The model, with CUDA runtime failures turned into the binding's BackendFailure.
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

Napi::Function CudaModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "CudaModel",
                     {InstanceMethod<&CudaModelWrap::Infer>("infer"), InstanceMethod<&CudaModelWrap::InferSync>("inferSync"),
                      InstanceMethod<&CudaModelWrap::Dispose>("dispose"),
                      InstanceAccessor<&CudaModelWrap::PrecisionName>("precision"),
                      InstanceAccessor<&CudaModelWrap::DeviceName>("deviceName")});
}

// new CudaModel(spec, weights: { [name]: Float32Array }, options: { precision, device })
CudaModelWrap::CudaModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaModelWrap>(info) {
  Napi::Env env = info.Env();
#ifndef TRM_HAVE_CUDA
  throw make_error(env, std::string("this build of trm-node has no CUDA backend: ") + TRM_CUDA_STATUS, "TRM_BACKEND");
#else
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
    throw_argument(env, "CudaModel(spec, weights, options) takes three objects");
  }
  const ModelSpec spec = read_spec(info[0].As<Napi::Object>());
  const Napi::Object options = info[2].As<Napi::Object>();
  const Precision precision = read_precision(options, true, false, "the CUDA backend");
  int device = 0;
  if (!options.Get("deviceIndex").IsUndefined()) device = get_int(options, "deviceIndex");
  const WeightViews weights = read_weights(info[1].As<Napi::Object>());
  try {
    auto handle = std::make_shared<CudaHandle>();
    handle->model = std::make_unique<cuda::CudaModel>(spec, weights, precision, device);
    handle_ = std::move(handle);
  } catch (const Error& e) {
    throw make_error(env, e.what(), error_code(e.kind()));
  } catch (const cuda::DeviceError& e) {
    throw make_error(env, e.what(), "TRM_BACKEND");
  } catch (const std::bad_alloc&) {
    throw make_error(env, "out of host memory while loading the model", "TRM_OUT_OF_MEMORY");
  }
#endif
}

std::shared_ptr<const CudaHandle> CudaModelWrap::handle(Napi::Env env) const {
  if (!handle_) throw make_error(env, "model has been disposed", "TRM_DISPOSED");
  return handle_;
}

Napi::Value CudaModelWrap::Infer(const Napi::CallbackInfo& info) { return queue_infer<CudaHandle>(info, handle(info.Env())); }

Napi::Value CudaModelWrap::InferSync(const Napi::CallbackInfo& info) { return infer_sync<CudaHandle>(info, handle(info.Env())); }

Napi::Value CudaModelWrap::Dispose(const Napi::CallbackInfo& info) {
  handle_.reset();
  return info.Env().Undefined();
}

Napi::Value CudaModelWrap::PrecisionName(const Napi::CallbackInfo& info) {
#ifdef TRM_HAVE_CUDA
  return Napi::String::New(info.Env(), precision_name(handle(info.Env())->model->precision()));
#else
  return info.Env().Null();
#endif
}

Napi::Value CudaModelWrap::DeviceName(const Napi::CallbackInfo& info) {
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
