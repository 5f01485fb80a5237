#include "binding/native_model.h"

#include <string>
#include <thread>

#include "binding/convert.h"
#include "binding/model_args.h"
#include "cpu/dispatch.h"

namespace trm::binding {
namespace {

InferRequest read_request(const Napi::Object& js) {
  InferRequest r;
  r.batch = get_int(js, "batch");
  r.inputs = get_array<int32_t>(js, "inputs", false);
  r.puzzle_identifiers = get_array<int32_t>(js, "puzzleIdentifiers", true);
  r.carry_z_H = get_array<float>(js, "carryZH", true);
  r.carry_z_L = get_array<float>(js, "carryZL", true);
  r.max_steps = get_int(js, "maxSteps");
  r.min_steps = get_int(js, "minSteps");
  Napi::Value threshold = js.Get("haltThreshold");
  r.adaptive = !(threshold.IsUndefined() || threshold.IsNull());
  if (r.adaptive) r.halt_threshold = get_number(js, "haltThreshold");
  r.trace = get_bool(js, "trace", false);
  r.trace_logits = get_bool(js, "traceLogits", false);
  r.return_carry = get_bool(js, "returnCarry", false);
  return r;
}

Napi::Object write_result(Napi::Env env, const InferResult& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("predictions", to_js(env, r.predictions));
  out.Set("logits", to_js(env, r.logits));
  out.Set("steps", to_js(env, r.steps));
  out.Set("qHalt", to_js(env, r.q_halt));
  out.Set("qContinue", to_js(env, r.q_continue));
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
    Napi::Uint8Array halted = Napi::Uint8Array::New(env, r.trace_halted.size());
    std::memcpy(halted.Data(), r.trace_halted.data(), r.trace_halted.size());
    trace.Set("halted", halted);
    trace.Set("changed", to_js(env, r.trace_changed));
    trace.Set("confidence", to_js(env, r.trace_confidence));
    if (!r.trace_logits.empty()) trace.Set("logits", to_js(env, r.trace_logits));
    out.Set("trace", trace);
  }
  return out;
}

// Runs Model::infer on a libuv worker thread and settles a Promise with the result.
class InferWorker : public Napi::AsyncWorker {
 public:
  InferWorker(Napi::Env env, std::shared_ptr<const Model> model, InferRequest request)
      : Napi::AsyncWorker(env, "trm:infer"),
        model_(std::move(model)),
        request_(std::move(request)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = model_->infer(request_);
    } catch (const Error& e) {
      code_ = error_code(e.kind());
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "TRM_OUT_OF_MEMORY";
      SetError("out of memory for this batch");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(write_result(Env(), result_)); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(make_error(Env(), e.Message(), code_).Value());
  }

 private:
  std::shared_ptr<const Model> model_;
  InferRequest request_;
  InferResult result_;
  const char* code_ = "TRM_INTERNAL";
  Napi::Promise::Deferred deferred_;
};

}  // namespace

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

Napi::Value NativeModel::Infer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "infer(request) takes an object");
  auto* worker = new InferWorker(env, model(env), read_request(info[0].As<Napi::Object>()));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value NativeModel::InferSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "inferSync(request) takes an object");
  const InferRequest request = read_request(info[0].As<Napi::Object>());
  try {
    return write_result(env, model(env)->infer(request));
  } catch (const Error& e) {
    throw make_error(env, e.what(), error_code(e.kind()));
  } catch (const std::bad_alloc&) {
    throw make_error(env, "out of memory for this batch", "TRM_OUT_OF_MEMORY");
  }
}

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
