// The request and result of one inference, JS <-> core/infer_types.h, and the AsyncWorker
// that runs it: shared by every model handle (NativeModel, CudaModel). Conversions only.
#pragma once

#include <napi.h>

#include <cstring>
#include <memory>

#include "binding/convert.h"
#include "binding/promise_worker.h"
#include "core/infer_types.h"

namespace trm::binding {

inline InferRequest read_request(const Napi::Object& js) {
  InferRequest r;
  r.batch = get_int(js, "batch");
  r.inputs = get_array<int32_t>(js, "inputs", false);
  r.puzzle_identifiers = get_array<int32_t>(js, "puzzleIdentifiers", true);
  r.carry_z_H = get_array<float>(js, "carryZH", true);
  r.carry_z_L = get_array<float>(js, "carryZL", true);
  act::StoppingRules& s = r.stopping;
  s.max_steps = get_int(js, "maxSteps");
  s.min_steps = get_int(js, "minSteps");
  // Each adaptive rule is off when its field is absent or null.
  auto given = [&js](const char* key) {
    Napi::Value v = js.Get(key);
    return !(v.IsUndefined() || v.IsNull());
  };
  s.use_halt = given("haltThreshold");
  if (s.use_halt) s.halt_threshold = get_number(js, "haltThreshold");
  s.use_confidence = given("confidenceThreshold");
  if (s.use_confidence) s.confidence_threshold = get_number(js, "confidenceThreshold");
  if (given("stableSteps")) s.stable_steps = get_int(js, "stableSteps");
  if (given("hCycles")) r.h_cycles = get_int(js, "hCycles");
  if (given("lCycles")) r.l_cycles = get_int(js, "lCycles");
  r.trace = get_bool(js, "trace", false);
  r.trace_logits = get_bool(js, "traceLogits", false);
  r.return_carry = get_bool(js, "returnCarry", false);
  return r;
}

inline Napi::Object write_result(Napi::Env env, const InferResult& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("predictions", to_js(env, r.predictions));
  out.Set("logits", to_js(env, r.logits));
  out.Set("steps", to_js(env, r.steps));
  out.Set("qHalt", to_js(env, r.q_halt));
  out.Set("qContinue", to_js(env, r.q_continue));
  out.Set("stoppedBy", to_js(env, r.stopped_by));
  if (!r.carry_z_H.empty()) {
    out.Set("carryZH", to_js(env, r.carry_z_H));
    out.Set("carryZL", to_js(env, r.carry_z_L));
  }
  out.Set("traceSteps", Napi::Number::New(env, r.trace_steps));
  if (r.trace_steps > 0) {
    Napi::Object trace = Napi::Object::New(env);
    trace.Set("qHalt", to_js(env, r.trace_q_halt));
    trace.Set("qContinue", to_js(env, r.trace_q_continue));
    trace.Set("haltProbability", to_js(env, r.trace_halt_probability));
    trace.Set("halted", to_js(env, r.trace_halted));
    trace.Set("stoppedBy", to_js(env, r.trace_stopped_by));
    trace.Set("changed", to_js(env, r.trace_changed));
    trace.Set("confidence", to_js(env, r.trace_confidence));
    if (!r.trace_logits.empty()) trace.Set("logits", to_js(env, r.trace_logits));
    out.Set("trace", trace);
  }
  return out;
}

// Runs model->infer on a libuv worker thread and settles a Promise with the result.
template <typename ModelT>
class AddonInferWorker : public AddonPromiseWorker<InferResult> {
 public:
  AddonInferWorker(Napi::Env env, std::shared_ptr<const ModelT> model, InferRequest request)
      : AddonPromiseWorker<InferResult>(env, "trm:infer", "running this batch"),
        model_(std::move(model)),
        request_(std::move(request)) {}

 private:
  InferResult Run() override { return model_->infer(request_); }
  Napi::Value ToJs(Napi::Env env, const InferResult& result) override { return write_result(env, result); }

  std::shared_ptr<const ModelT> model_;
  InferRequest request_;
};

// The `infer(request)` method of a model wrap (CPU or CUDA): the request is read on the JS
// thread, the model runs on a worker, and the Promise settles with the result or a TrmError.
template <typename ModelT>
Napi::Value queue_infer(const Napi::CallbackInfo& info, std::shared_ptr<const ModelT> model) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "infer(request) takes an object");
  return (new AddonInferWorker<ModelT>(env, std::move(model), read_request(info[0].As<Napi::Object>())))->Start();
}

// The `inferSync(request)` method of a model wrap: the same errors as the async path, thrown.
template <typename ModelT>
Napi::Value infer_sync(const Napi::CallbackInfo& info, const std::shared_ptr<const ModelT>& model) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "inferSync(request) takes an object");
  const InferRequest request = read_request(info[0].As<Napi::Object>());
  return with_js_errors(env, "running this batch", [&] { return write_result(env, model->infer(request)); });
}

}  // namespace trm::binding
