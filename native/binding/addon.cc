// The addon's entry point: registers NativeModel, GradientEngine and the ISA queries.
#include <napi.h>

#include "binding/gradient_engine.h"
#include "binding/kernel_probe.h"
#include "binding/native_model.h"
#include "cpu/dispatch.h"

namespace {

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  const auto isas = trm::cpu::supported_isas();
  Napi::Array out = Napi::Array::New(info.Env(), isas.size());
  for (size_t i = 0; i < isas.size(); ++i) out.Set(static_cast<uint32_t>(i), isas[i]);
  return out;
}

Napi::Value DefaultIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), trm::cpu::default_kernels().isa);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", trm::binding::NativeModel::Define(env));
  exports.Set("GradientEngine", trm::binding::NativeGradientEngine::Define(env));
  exports.Set("supportedIsas", Napi::Function::New(env, SupportedIsas));
  exports.Set("defaultIsa", Napi::Function::New(env, DefaultIsa));
  trm::binding::RegisterKernelProbe(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(trm_node, Init)
