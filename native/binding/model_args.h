// Arguments shared by the addon's model-like constructors (AddonModel, AddonGradientEngine,
// AddonCudaModel): the spec object built by lib/backends/native.ts nativeSpec(), the
// { threads, isa, precision } options, and the { name: Float32Array } weights, read as views
// (the core copies them).
#pragma once

#include <napi.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <thread>

#include "binding/convert.h"
#include "core/model.h"
#include "core/model_spec.h"
#include "cpu/dispatch.h"

namespace trm::binding {

inline ModelSpec read_spec(const Napi::Object& js) {
  ModelSpec s;
  s.seq_len = get_int(js, "seqLen");
  s.vocab_size = get_int(js, "vocabSize");
  s.hidden_size = get_int(js, "hiddenSize");
  s.num_heads = get_int(js, "numHeads");
  s.H_cycles = get_int(js, "hCycles");
  s.L_cycles = get_int(js, "lCycles");
  s.L_layers = get_int(js, "lLayers");
  s.halt_max_steps = get_int(js, "haltMaxSteps");
  const std::string pos = required(js, "posEncoding").ToString().Utf8Value();
  if (pos == "rope") {
    s.pos_encoding = PosEncoding::kRope;
  } else if (pos == "learned") {
    s.pos_encoding = PosEncoding::kLearned;
  } else if (pos == "none") {
    s.pos_encoding = PosEncoding::kNone;
  } else {
    throw_argument(js.Env(), "posEncoding must be rope, learned or none");
  }
  s.mlp_t = get_bool(js, "mlpT", false);
  s.puzzle_emb_ndim = get_int(js, "puzzleEmbNdim");
  s.puzzle_emb_len = get_int(js, "puzzleEmbLen");
  s.num_puzzle_identifiers = get_int(js, "numPuzzleIdentifiers");
  s.rms_norm_eps = static_cast<float>(get_number(js, "rmsNormEps"));
  s.rope_theta = get_number(js, "ropeTheta");
  s.mlp_inter = get_int(js, "mlpInter");
  s.mlp_t_inter = get_int(js, "mlpTInter");
  return s;
}

inline const cpu::KernelTable& read_kernels(const Napi::Object& options) {
  Napi::Value isa = options.Get("isa");
  if (isa.IsUndefined() || isa.IsNull()) return cpu::default_kernels();
  const cpu::KernelTable* kernels = cpu::find_kernels(isa.ToString().Utf8Value());
  if (kernels == nullptr) throw make_error(options.Env(), "isa not supported on this CPU or not compiled in", "TRM_OPTION");
  return *kernels;
}

inline int read_threads(const Napi::Object& options) {
  Napi::Value threads_value = options.Get("threads");
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!threads_value.IsUndefined() && !threads_value.IsNull()) threads = get_int(options, "threads");
  if (threads < 1 || threads > 1024) throw make_error(options.Env(), "threads must be in [1, 1024]", "TRM_OPTION");
  return threads;
}

// Every precision the addon takes, named as in JS by the core's precision_name(): adding one
// is one line here.
inline constexpr Precision kPrecisions[] = {Precision::kFp32, Precision::kBf16, Precision::kInt8};

// options.precision: absent means fp32; a name outside kPrecisions is TRM_OPTION, and so is a
// known one that `engine` does not run (`runs`: the native CPU model runs all three; CUDA
// fp32 and bf16; the gradient engine fp32), naming what it does run.
inline Precision read_precision(const Napi::Object& options, std::initializer_list<Precision> runs, const char* engine) {
  Napi::Value value = options.Get("precision");
  if (value.IsUndefined() || value.IsNull()) return Precision::kFp32;
  const std::string name = value.ToString().Utf8Value();
  auto quoted = [](auto&& keep) {
    std::string out;
    for (Precision p : kPrecisions) {
      if (keep(p)) out += std::string(out.empty() ? "'" : ", '") + precision_name(p) + "'";
    }
    return out;
  };
  const auto runs_here = [&](Precision p) { return std::find(runs.begin(), runs.end(), p) != runs.end(); };
  for (Precision p : kPrecisions) {
    if (name != precision_name(p)) continue;
    if (runs_here(p)) return p;
    throw make_error(options.Env(), "precision " + name + " does not run on " + engine + " (it runs " + quoted(runs_here) + ")",
                     "TRM_OPTION");
  }
  throw make_error(options.Env(), "precision must be one of " + quoted([](Precision) { return true; }) + ", got '" + name + "'",
                   "TRM_OPTION");
}

// Views into the JS arrays: valid only while the caller holds the object.
inline WeightViews read_weights(const Napi::Object& js_weights) {
  WeightViews weights;
  const Napi::Array names = js_weights.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    Napi::Value v = js_weights.Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw_argument(js_weights.Env(), "weight " + name + " must be a Float32Array");
    }
    Napi::Float32Array array = v.As<Napi::Float32Array>();
    weights[name] = WeightView{array.Data(), array.ElementLength()};
  }
  return weights;
}

}  // namespace trm::binding
