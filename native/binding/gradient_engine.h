// AddonGradientEngine (JS class GradientEngine): the JS handle of a trm::train::GradientEngine. Conversions only.
//
// Parameters and gradients are handed out as Float32Arrays over the engine's own memory
// (one view per tensor, created once), so a trainer reads gradients and writes updated
// weights without a copy per step. Each view keeps its tensor alive, even after dispose().
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>

#include "binding/addon_wrap.h"
#include "train/engine.h"

namespace trm::binding {

class AddonGradientEngine : public AddonWrap<AddonGradientEngine> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AddonGradientEngine(const Napi::CallbackInfo& info);

 private:
  Napi::Value Tensors(const Napi::CallbackInfo& info);
  Napi::Value Parameter(const Napi::CallbackInfo& info);
  Napi::Value Gradient(const Napi::CallbackInfo& info);
  Napi::Value ZeroGradients(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value StepSync(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Isa(const Napi::CallbackInfo& info);
  Napi::Value Threads(const Napi::CallbackInfo& info);
  Napi::Value TapeBytes(const Napi::CallbackInfo& info);

  std::shared_ptr<train::GradientEngine> engine(Napi::Env env) const;
  Napi::Value view(const Napi::CallbackInfo& info, bool gradient);

  // Shared so a step in flight keeps the engine alive through dispose().
  std::shared_ptr<train::GradientEngine> engine_;
  // One view per tensor and kind ("p:" or "g:" + name), so the same memory is never wrapped twice.
  std::map<std::string, Napi::Reference<Napi::Float32Array>> views_;
};

}  // namespace trm::binding
