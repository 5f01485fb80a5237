// AddonModel (JS class NativeModel): the JS handle of a loaded trm::Model. Conversions only;
// all work is in core.
#pragma once

#include <napi.h>

#include <memory>

#include "binding/addon_wrap.h"
#include "core/model.h"

namespace trm::binding {

class AddonModel : public AddonWrap<AddonModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AddonModel(const Napi::CallbackInfo& info);

 private:
  Napi::Value Infer(const Napi::CallbackInfo& info);
  Napi::Value InferSync(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Isa(const Napi::CallbackInfo& info);
  Napi::Value PrecisionName(const Napi::CallbackInfo& info);
  Napi::Value Bf16Compute(const Napi::CallbackInfo& info);
  Napi::Value Int8Compute(const Napi::CallbackInfo& info);
  Napi::Value LinearKernelName(const Napi::CallbackInfo& info);
  Napi::Value AmxStatus(const Napi::CallbackInfo& info);
  Napi::Value OneThreadBelowBatch(const Napi::CallbackInfo& info);
  Napi::Value Threads(const Napi::CallbackInfo& info);
  std::shared_ptr<const Model> model(Napi::Env env) const;

  // Shared so an inference in flight keeps the model alive through dispose().
  std::shared_ptr<const Model> model_;
};

}  // namespace trm::binding
