// The addon's entry point: registers NativeModel, GradientEngine, CudaModel and the ISA and
// CUDA queries. Context-aware: Init runs once per environment (the main thread and every
// worker_thread that requires the addon), and all per-environment state is AddonEnv's.
#include <napi.h>

#include "binding/addon_env.h"
#include "binding/cuda_model.h"
#include "binding/gradient_engine.h"
#include "binding/js_errors.h"
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

// A free function under the binding's one error mapper, like every Addon* method.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Function Guarded(Napi::Env env) {
  return Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return trm::binding::with_js_errors(info.Env(), "running a native call", [&] { return F(info); });
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  trm::binding::AddonEnv::attach(env);
  exports.Set("NativeModel", trm::binding::AddonModel::Define(env));
  exports.Set("GradientEngine", trm::binding::AddonGradientEngine::Define(env));
  exports.Set("supportedIsas", Guarded<SupportedIsas>(env));
  exports.Set("defaultIsa", Guarded<DefaultIsa>(env));
  exports.Set("CudaModel", trm::binding::AddonCudaModel::Define(env));
  exports.Set("cudaAvailable", Guarded<trm::binding::CudaAvailable>(env));
  trm::binding::RegisterKernelProbe(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(trm_node, Init)
