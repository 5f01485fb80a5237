// AddonCudaModel (JS class CudaModel): the JS handle of a trm::cuda::CudaModel, and cudaAvailable(). Always compiled:
// in a build without CUDA (TRM_HAVE_CUDA undefined) the constructor throws TRM_BACKEND with
// the reason the build gave, so the TypeScript layer can say why.
#pragma once

#include <napi.h>

#include <memory>

#include "binding/addon_wrap.h"

namespace trm::binding {

struct CudaHandle;

class AddonCudaModel : public AddonWrap<AddonCudaModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AddonCudaModel(const Napi::CallbackInfo& info);

 private:
  Napi::Value Infer(const Napi::CallbackInfo& info);
  Napi::Value InferSync(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value PrecisionName(const Napi::CallbackInfo& info);
  Napi::Value DeviceName(const Napi::CallbackInfo& info);
  std::shared_ptr<const CudaHandle> handle(Napi::Env env) const;

  // Shared so an inference in flight keeps the model alive through dispose().
  std::shared_ptr<const CudaHandle> handle_;
};

// cudaAvailable(): { built, devices, reason? }.
Napi::Value CudaAvailable(const Napi::CallbackInfo& info);

}  // namespace trm::binding
