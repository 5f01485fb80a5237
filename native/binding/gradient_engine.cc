#include "binding/gradient_engine.h"

#include <string>
#include <vector>

#include "binding/convert.h"
#include "binding/model_args.h"
#include "binding/promise_worker.h"

namespace trm::binding {
namespace {

// A step's inputs, copied out of JS so the worker thread owns them.
struct StepRequest {
  int batch = 0;
  std::vector<int32_t> inputs, labels, puzzle_identifiers;
  std::vector<float> carry_z_H, carry_z_L;

  train::StepInput view() const {
    train::StepInput in;
    in.batch = batch;
    in.inputs = inputs.data();
    in.labels = labels.data();
    in.puzzle_identifiers = puzzle_identifiers.empty() ? nullptr : puzzle_identifiers.data();
    in.carry_z_H = carry_z_H.empty() ? nullptr : carry_z_H.data();
    in.carry_z_L = carry_z_L.empty() ? nullptr : carry_z_L.data();
    return in;
  }
};

[[noreturn]] void input_error(Napi::Env env, const std::string& message) { throw make_error(env, message, "TRM_INPUT"); }

// { batch, inputs, labels, puzzleIdentifiers?, carryZH?, carryZL? }, lengths checked here
// (the core sees raw pointers and trusts them).
StepRequest read_step(const Napi::Object& js, const ModelSpec& spec) {
  Napi::Env env = js.Env();
  StepRequest r;
  r.batch = get_int(js, "batch");
  if (r.batch < 1) input_error(env, "batch must be >= 1");
  r.inputs = get_array<int32_t>(js, "inputs", false);
  r.labels = get_array<int32_t>(js, "labels", false);
  r.puzzle_identifiers = get_array<int32_t>(js, "puzzleIdentifiers", true);
  r.carry_z_H = get_array<float>(js, "carryZH", true);
  r.carry_z_L = get_array<float>(js, "carryZL", true);
  const size_t B = static_cast<size_t>(r.batch), tokens = B * spec.seq_len;
  const size_t carry = B * spec.total_len() * spec.hidden_size;
  if (r.inputs.size() != tokens) input_error(env, "inputs must hold batch * seq_len tokens");
  if (r.labels.size() != tokens) input_error(env, "labels must hold batch * seq_len labels");
  if (!r.puzzle_identifiers.empty() && r.puzzle_identifiers.size() != B) input_error(env, "puzzleIdentifiers must hold batch entries");
  if (r.carry_z_H.empty() != r.carry_z_L.empty()) input_error(env, "carry needs both carryZH and carryZL");
  if (!r.carry_z_H.empty() && (r.carry_z_H.size() != carry || r.carry_z_L.size() != carry)) {
    input_error(env, "carry must hold batch * (seq_len + puzzle_emb_len) * hidden_size values");
  }
  return r;
}

Napi::Object write_step(Napi::Env env, const train::StepOutput& o) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", Napi::Number::New(env, o.loss.total));
  out.Set("lmLoss", Napi::Number::New(env, o.loss.lm));
  out.Set("qHaltLoss", Napi::Number::New(env, o.loss.q_halt));
  out.Set("seqCorrect", to_js(env, o.seq_correct));
  out.Set("predictions", to_js(env, o.predictions));
  out.Set("qHalt", to_js(env, o.q_halt));
  out.Set("qContinue", to_js(env, o.q_continue));
  out.Set("carryZH", to_js(env, o.z_H));
  out.Set("carryZL", to_js(env, o.z_L));
  out.Set("puzzleIds", to_js(env, o.puzzle_ids));
  out.Set("puzzleGrad", to_js(env, o.puzzle_grad));
  return out;
}

// Runs one step on a libuv worker thread and settles a Promise with its result.
class AddonStepWorker : public AddonPromiseWorker<train::StepOutput> {
 public:
  AddonStepWorker(Napi::Env env, std::shared_ptr<train::GradientEngine> engine, StepRequest request)
      : AddonPromiseWorker<train::StepOutput>(env, "trm:gradientStep", "running this batch"),
        engine_(std::move(engine)),
        request_(std::move(request)) {}

 private:
  train::StepOutput Run() override {
    train::StepOutput out;
    engine_->step(request_.view(), out);
    return out;
  }
  Napi::Value ToJs(Napi::Env env, const train::StepOutput& out) override { return write_step(env, out); }

  std::shared_ptr<train::GradientEngine> engine_;
  StepRequest request_;
};

std::string name_arg(const Napi::CallbackInfo& info, const char* method) {
  if (info.Length() < 1 || !info[0].IsString()) throw_argument(info.Env(), std::string(method) + "(name) takes a tensor name");
  return info[0].As<Napi::String>().Utf8Value();
}

}  // namespace

Napi::Function AddonGradientEngine::Define(Napi::Env env) {
  return DefineClass(env, "GradientEngine",
                     {Method<&AddonGradientEngine::Tensors>("tensors"), Method<&AddonGradientEngine::Parameter>("parameter"),
                      Method<&AddonGradientEngine::Gradient>("gradient"),
                      Method<&AddonGradientEngine::ZeroGradients>("zeroGradients"), Method<&AddonGradientEngine::Step>("step"),
                      Method<&AddonGradientEngine::StepSync>("stepSync"), Method<&AddonGradientEngine::Dispose>("dispose"),
                      Getter<&AddonGradientEngine::Isa>("isa"), Getter<&AddonGradientEngine::Threads>("threads"),
                      Getter<&AddonGradientEngine::TapeBytes>("tapeBytes")});
}

// new GradientEngine(spec, weights: { [name]: Float32Array }, options: { threads, isa })
AddonGradientEngine::AddonGradientEngine(const Napi::CallbackInfo& info) : AddonWrap<AddonGradientEngine>(info) {
  Napi::Env env = info.Env();
  with_js_errors(env, "loading the model", [&] {
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
      throw_argument(env, "GradientEngine(spec, weights, options) takes three objects");
    }
    const ModelSpec spec = read_spec(info[0].As<Napi::Object>());
    const Napi::Object options = info[2].As<Napi::Object>();
    const cpu::KernelTable& kernels = read_kernels(options);
    const int threads = read_threads(options);
    read_precision(options, {Precision::kFp32}, "the gradient engine (it trains in fp32)");
    const WeightViews weights = read_weights(info[1].As<Napi::Object>());
    engine_ = std::make_shared<train::GradientEngine>(spec, weights, kernels, threads);
  });
}

std::shared_ptr<train::GradientEngine> AddonGradientEngine::engine(Napi::Env env) const {
  if (!engine_) throw make_error(env, "gradient engine has been disposed", "TRM_DISPOSED");
  return engine_;
}

// [{ name, shape, trained }] in state_dict order.
Napi::Value AddonGradientEngine::Tensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& tensors = engine(env)->params().tensors();
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", tensors[i]->name);
    Napi::Array shape = Napi::Array::New(env, tensors[i]->shape.size());
    for (size_t d = 0; d < tensors[i]->shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), tensors[i]->shape[d]);
    t.Set("shape", shape);
    t.Set("trained", tensors[i]->trained);
    out.Set(static_cast<uint32_t>(i), t);
  }
  return out;
}

Napi::Value AddonGradientEngine::view(const Napi::CallbackInfo& info, bool gradient) {
  Napi::Env env = info.Env();
  const std::string name = name_arg(info, gradient ? "gradient" : "parameter");
  std::shared_ptr<train::Tensor> tensor = engine(env)->params().find(name);
  if (!tensor) throw make_error(env, "the model has no tensor " + name, "TRM_ARGUMENT");
  if (gradient && !tensor->trained) throw make_error(env, "tensor " + name + " gets no gradient from the loss", "TRM_ARGUMENT");
  const std::string key = (gradient ? "g:" : "p:") + name;
  auto it = views_.find(key);
  if (it != views_.end()) return it->second.Value();
  AlignedBuffer& buffer = gradient ? tensor->grad : tensor->value;
  // The finalizer's hint owns a reference to the tensor: the memory lives as long as the view.
  auto* keep = new std::shared_ptr<train::Tensor>(tensor);
  Napi::ArrayBuffer bytes = Napi::ArrayBuffer::New(
      env, buffer.data(), buffer.size() * sizeof(float),
      [](Napi::Env, void*, std::shared_ptr<train::Tensor>* hint) { delete hint; }, keep);
  Napi::Float32Array array = Napi::Float32Array::New(env, buffer.size(), bytes, 0);
  views_.emplace(key, Napi::Persistent(array));
  return array;
}

Napi::Value AddonGradientEngine::Parameter(const Napi::CallbackInfo& info) { return view(info, false); }
Napi::Value AddonGradientEngine::Gradient(const Napi::CallbackInfo& info) { return view(info, true); }

Napi::Value AddonGradientEngine::ZeroGradients(const Napi::CallbackInfo& info) {
  engine(info.Env())->zero_gradients();
  return info.Env().Undefined();
}

Napi::Value AddonGradientEngine::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "step(batch) takes an object");
  std::shared_ptr<train::GradientEngine> e = engine(env);
  return (new AddonStepWorker(env, e, read_step(info[0].As<Napi::Object>(), e->spec())))->Start();
}

Napi::Value AddonGradientEngine::StepSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "stepSync(batch) takes an object");
  std::shared_ptr<train::GradientEngine> e = engine(env);
  const StepRequest request = read_step(info[0].As<Napi::Object>(), e->spec());
  return with_js_errors(env, "running this batch", [&] {
    train::StepOutput result;
    e->step(request.view(), result);
    return write_step(env, result);
  });
}

Napi::Value AddonGradientEngine::Dispose(const Napi::CallbackInfo& info) {
  engine_.reset();
  views_.clear();
  return info.Env().Undefined();
}

Napi::Value AddonGradientEngine::Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), engine(info.Env())->kernels().isa);
}

Napi::Value AddonGradientEngine::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), engine(info.Env())->threads());
}

Napi::Value AddonGradientEngine::TapeBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(engine(info.Env())->tape_bytes()));
}

}  // namespace trm::binding
