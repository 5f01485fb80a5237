// CudaModel (cuda_model.h): weights uploaded once; per call, the batch is embedded on the
// device and every ACT step replays the step graph captured for the number of active slots
// (and the call's recursion depth). Without an adaptive stopping rule every sample runs
// max_steps steps, so the whole answer is one graph launch (max_steps chained copies of the
// step graph), no host round trip; with one, the halted flags (one byte a sample) come back
// after each step and the slots still running are packed to the front on the device, as
// core/recursion.cc does. Only results and trace are copied back, once, at the end.
// UNVERIFIED ON HARDWARE.
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "core/errors.h"
#include "cuda/attention.cuh"
#include "cuda/common.cuh"
#include "cuda/embed.cuh"
#include "cuda/step.cuh"

namespace trm::cuda {
namespace {

template <typename T>
void to_device(const DeviceBuffer& dst, const std::vector<T>& src, cudaStream_t stream) {
  if (src.empty()) return;
  TRM_CUDA_CHECK(cudaMemcpyAsync(dst.as<void>(), src.data(), src.size() * sizeof(T), cudaMemcpyHostToDevice, stream));
}

template <typename T>
void to_host(std::vector<T>* dst, const void* src, size_t count, cudaStream_t stream) {
  dst->resize(count);
  if (count == 0) return;
  TRM_CUDA_CHECK(cudaMemcpyAsync(dst->data(), src, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
}

// A whole-answer graph holds max_steps copies of the step: past this, replay the step instead.
constexpr int kAnswerGraphMaxSteps = 64;

// TRM_CUDA_GRAPHS=0 launches the kernels directly (for compute-sanitizer and debugging).
bool graphs_enabled() {
  const char* v = std::getenv("TRM_CUDA_GRAPHS");
  return v == nullptr || std::string(v) != "0";
}

}  // namespace

struct CudaModel::Impl {
  ModelSpec spec;
  // The spec of the call in progress: `spec` with the request's H_cycles / L_cycles.
  ModelSpec run_spec;
  Precision precision = Precision::kFp32;
  int device = 0;
  std::string name;
  DeviceWeights weights;
  cudaStream_t stream = nullptr;
  std::unique_ptr<Workspace> workspace;
  // Per (active-slot count, H_cycles, L_cycles), for `workspace`: the captured step (kept
  // to build answer graphs from) and its executable.
  struct StepGraph {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
  };
  using GraphKey = std::tuple<int, int, int>;
  std::map<GraphKey, StepGraph> graphs;
  // Per (max_steps, H_cycles, L_cycles), for the whole batch without adaptive stopping:
  // max_steps copies of the step graph in a chain, so a whole answer is one graph launch.
  std::map<GraphKey, cudaGraphExec_t> answers;
  bool use_graphs = graphs_enabled();
  std::mutex mutex;

  ~Impl() {
    cudaSetDevice(device);
    drop_graphs();
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  void drop_graphs() {
    for (auto& [steps, exec] : answers) cudaGraphExecDestroy(exec);
    answers.clear();
    for (auto& [n, g] : graphs) {
      cudaGraphExecDestroy(g.exec);
      cudaGraphDestroy(g.graph);
    }
    graphs.clear();
  }

  GemmMath math() const { return precision == Precision::kBf16 ? GemmMath::kBf16 : GemmMath::kFp32; }

  GraphKey key(int count) const { return GraphKey(count, run_spec.H_cycles, run_spec.L_cycles); }

  const StepGraph& step_graph(int n) {
    auto it = graphs.find(key(n));
    if (it != graphs.end()) return it->second;
    cudaGraph_t graph = nullptr;
    TRM_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      enqueue_step(run_spec, weights, math(), *workspace, n, stream);
    } catch (...) {
      cudaStreamEndCapture(stream, &graph);  // leave the stream usable
      if (graph != nullptr) cudaGraphDestroy(graph);
      throw;
    }
    TRM_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    if (err != cudaSuccess) cudaGraphDestroy(graph);
    TRM_CUDA_CHECK(err);
    return graphs.emplace(key(n), StepGraph{graph, exec}).first->second;
  }

  void launch_step(int n) {
    if (!use_graphs) {
      enqueue_step(run_spec, weights, math(), *workspace, n, stream);
      return;
    }
    TRM_CUDA_CHECK(cudaGraphLaunch(step_graph(n).exec, stream));
  }

  // Every slot, `steps` steps, as one graph launch: the step graph as `steps` chained child
  // nodes (the ACT bookkeeping advances the step counter on the device).
  void launch_answer(int steps) {
    const int n = workspace->capacity;
    if (!use_graphs) {
      for (int s = 0; s < steps; ++s) enqueue_step(run_spec, weights, math(), *workspace, n, stream);
      return;
    }
    auto it = answers.find(key(steps));
    if (it == answers.end()) {
      const StepGraph& step = step_graph(n);
      cudaGraph_t answer = nullptr;
      TRM_CUDA_CHECK(cudaGraphCreate(&answer, 0));
      cudaGraphNode_t previous = nullptr;
      cudaError_t err = cudaSuccess;
      for (int s = 0; s < steps && err == cudaSuccess; ++s) {
        cudaGraphNode_t node = nullptr;
        err = cudaGraphAddChildGraphNode(&node, answer, previous != nullptr ? &previous : nullptr, previous != nullptr ? 1 : 0,
                                         step.graph);
        previous = node;
      }
      cudaGraphExec_t exec = nullptr;
      if (err == cudaSuccess) err = cudaGraphInstantiate(&exec, answer, 0);
      cudaGraphDestroy(answer);
      TRM_CUDA_CHECK(err);
      it = answers.emplace(key(steps), exec).first;
    }
    TRM_CUDA_CHECK(cudaGraphLaunch(it->second, stream));
  }

  InferResult infer(const InferRequest& r);
};

CudaModel::CudaModel(const ModelSpec& spec, const WeightViews& weights, Precision precision, int device)
    : impl_(std::make_unique<Impl>()) {
  validate_spec(spec);
  int count = 0;
  TRM_CUDA_CHECK(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count) {
    throw DeviceError("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " found)");
  }
  TRM_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop;
  TRM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  if (prop.major < 8) throw DeviceError(std::string(prop.name) + " is older than compute capability 8.0 (Ampere)");
  if (!spec.mlp_t && spec.head_dim() > kAttentionMaxHeadDim) {
    throw DeviceError("the CUDA backend supports head_dim up to 128, this model has " + std::to_string(spec.head_dim()));
  }
  impl_->spec = spec;
  impl_->precision = precision;
  impl_->device = device;
  impl_->name = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
  if (!spec.mlp_t) attention_configure();
  impl_->weights = upload_weights(spec, weights, precision);
  TRM_CUDA_CHECK(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
}

CudaModel::~CudaModel() = default;

const ModelSpec& CudaModel::spec() const { return impl_->spec; }
Precision CudaModel::precision() const { return impl_->precision; }
const std::string& CudaModel::device_name() const { return impl_->name; }

InferResult CudaModel::infer(const InferRequest& request) const {
  check_infer_request(impl_->spec, request);
  // Grid limits of one launch (gemm.cu): samples on grid.z, token rows on grid.y in 64s.
  const int64_t rows = static_cast<int64_t>(request.batch) * impl_->spec.total_len();
  if (request.batch > 65535 || rows > 65535LL * 64) {
    throw DeviceError("batch " + std::to_string(request.batch) + " exceeds the CUDA backend's limits (65535 samples and " +
                      std::to_string(65535LL * 64) + " token rows per call): split it");
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->infer(request);
}

InferResult CudaModel::Impl::infer(const InferRequest& r) {
  // The runtime's current device is per host thread, and calls come from any worker thread.
  TRM_CUDA_CHECK(cudaSetDevice(device));
  run_spec = spec_for_request(spec, r);
  const act::StoppingRules& rules = r.stopping;
  const int B = r.batch, S = spec.seq_len, V = spec.vocab_size, T = spec.total_len(), D = spec.hidden_size;
  const size_t carry_size = static_cast<size_t>(T) * D, logits_size = static_cast<size_t>(S) * V;
  if (!workspace || workspace->capacity != B) {
    drop_graphs();
    workspace.reset();
    workspace = std::make_unique<Workspace>(spec, B);
  }
  Workspace& ws = *workspace;

  // The batch in slots 0..B-1, slot j = sample j.
  to_device(ws.inputs, r.inputs, stream);
  to_device(ws.puzzle_ids, r.puzzle_identifiers, stream);
  const EmbedTables tables{weights.embed_tokens.as<float>(), weights.puzzle_emb.as<float>(), weights.embed_pos.as<float>()};
  embed(spec, tables, ws.inputs.as<int32_t>(), r.puzzle_identifiers.empty() ? nullptr : ws.puzzle_ids.as<int32_t>(),
        ws.x.as<float>(), B, stream);
  if (r.carry_z_H.empty()) {
    init_carry(weights.H_init.as<float>(), weights.L_init.as<float>(), ws.z_H.as<float>(), ws.z_L.as<float>(), B, T, D, stream);
  } else {
    to_device(ws.z_H, r.carry_z_H, stream);
    to_device(ws.z_L, r.carry_z_L, stream);
  }
  std::vector<int32_t> slot_sample(B);
  std::iota(slot_sample.begin(), slot_sample.end(), 0);
  to_device(ws.slot_sample, slot_sample, stream);
  TRM_CUDA_CHECK(cudaMemcpyAsync(ws.predictions.as<void>(), ws.inputs.as<void>(), static_cast<size_t>(B) * S * sizeof(int32_t),
                                 cudaMemcpyDeviceToDevice, stream));
  for (const DeviceBuffer* b : {&ws.steps, &ws.q_halt, &ws.q_continue, &ws.halt_probability, &ws.confidence, &ws.changed,
                               &ws.unchanged_run, &ws.halted, &ws.stopped_by}) {
    TRM_CUDA_CHECK(cudaMemsetAsync(b->as<void>(), 0, b->bytes(), stream));
  }

  // This call's outputs beyond the per-sample results; the step graphs find them through ActParams.
  const size_t records = r.trace ? static_cast<size_t>(rules.max_steps) * B : 0;
  DeviceBuffer t_q_halt(records * 4), t_q_continue(records * 4), t_probability(records * 4), t_halted(records),
      t_changed(records * 4), t_confidence(records * 4), t_stopped_by(records);
  DeviceBuffer t_logits(r.trace && r.trace_logits ? records * logits_size * 4 : 0);
  DeviceBuffer carry_H(r.return_carry ? B * carry_size * 4 : 0), carry_L(r.return_carry ? B * carry_size * 4 : 0);
  ActParams params;
  params.rules = rules;
  params.trace = r.trace ? 1 : 0;
  params.want_trace_logits = r.trace && r.trace_logits ? 1 : 0;
  params.return_carry = r.return_carry ? 1 : 0;
  params.trace_q_halt = t_q_halt.as<float>();
  params.trace_q_continue = t_q_continue.as<float>();
  params.trace_halt_probability = t_probability.as<float>();
  params.trace_halted = t_halted.as<uint8_t>();
  params.trace_changed = t_changed.as<int32_t>();
  params.trace_confidence = t_confidence.as<float>();
  params.trace_stopped_by = t_stopped_by.as<uint8_t>();
  params.trace_logits = t_logits.as<float>();
  params.carry_z_H = carry_H.as<float>();
  params.carry_z_L = carry_L.as<float>();
  TRM_CUDA_CHECK(cudaMemcpyAsync(ws.params.as<void>(), &params, sizeof(params), cudaMemcpyHostToDevice, stream));

  int steps_run = 0;
  if (!rules.adaptive()) {
    // Every sample stops at max_steps: no decision to read back in between, so the whole
    // answer is one graph (cached per max_steps up to 64 steps; longer runs replay the step).
    if (rules.max_steps <= kAnswerGraphMaxSteps) {
      launch_answer(rules.max_steps);
    } else {
      for (int s = 0; s < rules.max_steps; ++s) launch_step(B);
    }
    steps_run = rules.max_steps;
  } else {
    std::vector<uint8_t> halted(B, 0);
    std::vector<int32_t> moves;
    int active = B;
    while (active > 0) {
      launch_step(active);
      ++steps_run;
      TRM_CUDA_CHECK(cudaMemcpyAsync(halted.data(), ws.halted.as<void>(), B, cudaMemcpyDeviceToHost, stream));
      TRM_CUDA_CHECK(cudaStreamSynchronize(stream));
      moves.clear();
      int kept = 0;
      for (int j = 0; j < active; ++j) {
        if (halted[slot_sample[j]]) continue;
        moves.push_back(j);
        slot_sample[kept++] = slot_sample[j];
      }
      if (kept > 0 && kept < active) {
        to_device(ws.moves, moves, stream);
        std::vector<int32_t> live(slot_sample.begin(), slot_sample.begin() + kept);
        to_device(ws.slot_sample, live, stream);
        float* arrays[3] = {ws.x.as<float>(), ws.z_H.as<float>(), ws.z_L.as<float>()};
        act_compact(arrays, 3, ws.moves.as<int32_t>(), kept, carry_size, ws.scratch.as<float>(), stream);
        // `moves` and `live` are host vectors read by async copies: wait before they change.
        TRM_CUDA_CHECK(cudaStreamSynchronize(stream));
      }
      active = kept;
    }
  }

  InferResult out;
  out.batch = B;
  to_host(&out.predictions, ws.predictions.as<void>(), static_cast<size_t>(B) * S, stream);
  to_host(&out.logits, ws.logits.as<void>(), B * logits_size, stream);
  to_host(&out.steps, ws.steps.as<void>(), B, stream);
  to_host(&out.q_halt, ws.q_halt.as<void>(), B, stream);
  to_host(&out.q_continue, ws.q_continue.as<void>(), B, stream);
  to_host(&out.stopped_by, ws.stopped_by.as<void>(), B, stream);
  if (r.return_carry) {
    to_host(&out.carry_z_H, carry_H.as<void>(), B * carry_size, stream);
    to_host(&out.carry_z_L, carry_L.as<void>(), B * carry_size, stream);
  }
  if (r.trace) {
    const size_t n = static_cast<size_t>(steps_run) * B;
    out.trace_steps = steps_run;
    to_host(&out.trace_q_halt, t_q_halt.as<void>(), n, stream);
    to_host(&out.trace_q_continue, t_q_continue.as<void>(), n, stream);
    to_host(&out.trace_halt_probability, t_probability.as<void>(), n, stream);
    to_host(&out.trace_halted, t_halted.as<void>(), n, stream);
    to_host(&out.trace_changed, t_changed.as<void>(), n, stream);
    to_host(&out.trace_confidence, t_confidence.as<void>(), n, stream);
    to_host(&out.trace_stopped_by, t_stopped_by.as<void>(), n, stream);
    if (r.trace_logits) to_host(&out.trace_logits, t_logits.as<void>(), n * logits_size, stream);
  }
  // The per-call buffers above are freed when this returns: everything must have landed.
  TRM_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace trm::cuda
