// The addon's entry point: registers NativeModel, GradientEngine, CudaModel, the ISA and CUDA
// queries, and the core's tensor table (lib/model/weights.ts is tested against it).
// Context-aware: Init runs once per environment (the main thread and every worker_thread
// that requires the addon), and all per-environment state is AddonEnv's.
#include <napi.h>

#include "binding/addon_env.h"
#include "binding/cuda_model.h"
#include "binding/gradient_engine.h"
#include "binding/js_errors.h"
#include "binding/kernel_probe.h"
#include "binding/model_args.h"
#include "binding/native_model.h"
#include "core/tensor_table.h"
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

// tensorTable(spec) -> [{ name, shape, trained }] in the core's order (core/tensor_table.h).
Napi::Value TensorTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) trm::binding::throw_argument(env, "tensorTable(spec) needs a spec object");
  const auto table = trm::tensor_table(trm::binding::read_spec(info[0].As<Napi::Object>()));
  Napi::Array out = Napi::Array::New(env, table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", table[i].name);
    Napi::Array shape = Napi::Array::New(env, table[i].shape.size());
    for (size_t d = 0; d < table[i].shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), table[i].shape[d]);
    entry.Set("shape", shape);
    entry.Set("trained", table[i].trained);
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
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
  exports.Set("tensorTable", Guarded<TensorTable>(env));
  trm::binding::RegisterKernelProbe(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(trm_node, Init)
