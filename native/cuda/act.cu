// ACT kernels (act.cuh). act_read_heads_k runs one block per active slot: positions are
// split over the threads (act::read_position, the CPU's per-position read; top
// probabilities summed in double), then thread 0 decides stopping with act::stop_reason.
// UNVERIFIED ON HARDWARE.
#include <cmath>

#include "cuda/act.cuh"
#include "cuda/common.cuh"

namespace trm::cuda {
namespace {

constexpr int kReadThreads = 128;

__global__ void act_begin_step_k(ActParams* params, SampleState state, int batch) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b == 0) params->step += 1;
  if (b < batch) state.changed[b] = 0;
}

__global__ void __launch_bounds__(kReadThreads)
    act_read_heads_k(const ActParams* params, SampleState state, ActShape shape, const float* slot_logits,
                     const float* slot_q, const float* z_H, const float* z_L) {
  __shared__ double conf_part[kReadThreads];
  __shared__ int changed_part[kReadThreads];
  __shared__ int halt_flag;
  const int j = blockIdx.x, b = state.slot_sample[j];
  const int S = shape.seq_len, V = shape.vocab;
  const float* logits = slot_logits + static_cast<size_t>(j) * S * V;
  float* out_logits = state.logits + static_cast<size_t>(b) * S * V;
  int32_t* predictions = state.predictions + static_cast<size_t>(b) * S;
  double confidence = 0.0;
  int changed = 0;
  for (int t = threadIdx.x; t < S; t += kReadThreads) {
    const act::PositionRead p = act::read_position(logits + static_cast<size_t>(t) * V, V);
    confidence += p.top_probability;
    if (predictions[t] != p.argmax) ++changed;
    predictions[t] = p.argmax;
  }
  for (int i = threadIdx.x; i < S * V; i += kReadThreads) out_logits[i] = logits[i];
  conf_part[threadIdx.x] = confidence;
  changed_part[threadIdx.x] = changed;
  __syncthreads();
  if (threadIdx.x == 0) {
    // Summed in thread order: the confidence's rounding does not depend on timing.
    double c = 0.0;
    int ch = 0;
    for (int i = 0; i < kReadThreads; ++i) {
      c += conf_part[i];
      ch += changed_part[i];
    }
    const int step = params->step;
    const float qh = slot_q[2 * j], qc = slot_q[2 * j + 1];
    state.steps[b] = step;
    state.q_halt[b] = qh;
    state.q_continue[b] = qc;
    state.changed[b] = ch;
    const float conf = act::mean_confidence(c, S);
    state.confidence[b] = conf;
    const double p = act::halt_probability(qh);
    state.halt_probability[b] = static_cast<float>(p);
    const int run = act::next_unchanged_run(state.unchanged_run[b], ch);
    state.unchanged_run[b] = run;
    const act::StopReason reason = act::stop_reason(params->rules, step, p, conf, run);
    const bool halt = reason != act::kRunning;
    if (halt) {
      state.halted[b] = 1;
      state.stopped_by[b] = reason;
    }
    halt_flag = halt && params->return_carry != 0;
  }
  __syncthreads();
  if (halt_flag) {
    const size_t carry = static_cast<size_t>(shape.T) * shape.D;
    const float* h = z_H + static_cast<size_t>(j) * carry;
    const float* l = z_L + static_cast<size_t>(j) * carry;
    for (size_t i = threadIdx.x; i < carry; i += kReadThreads) {
      params->carry_z_H[static_cast<size_t>(b) * carry + i] = h[i];
      params->carry_z_L[static_cast<size_t>(b) * carry + i] = l[i];
    }
  }
}

__global__ void act_record_trace_k(const ActParams* params, SampleState state, int batch) {
  if (params->trace == 0) return;
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= batch) return;
  const size_t at = static_cast<size_t>(params->step - 1) * batch + b;
  params->trace_q_halt[at] = state.q_halt[b];
  params->trace_q_continue[at] = state.q_continue[b];
  params->trace_halt_probability[at] = state.halt_probability[b];
  params->trace_halted[at] = state.halted[b];
  params->trace_changed[at] = state.changed[b];
  params->trace_confidence[at] = state.confidence[b];
  params->trace_stopped_by[at] = state.stopped_by[b];
}

__global__ void act_trace_logits_k(const ActParams* params, const float* logits, size_t count) {
  if (params->trace == 0 || params->want_trace_logits == 0) return;
  float* out = params->trace_logits + static_cast<size_t>(params->step - 1) * count;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = logits[i];
  }
}

__global__ void gather_slots_k(const float* src, const int32_t* moves, int kept, size_t slot_floats, float* dst) {
  const size_t count = static_cast<size_t>(kept) * slot_floats;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t slot = i / slot_floats, e = i % slot_floats;
    dst[i] = src[static_cast<size_t>(moves[slot]) * slot_floats + e];
  }
}

}  // namespace

void act_begin_step(ActParams* params, SampleState state, ActShape shape, cudaStream_t stream) {
  act_begin_step_k<<<(shape.batch + 255) / 256, 256, 0, stream>>>(params, state, shape.batch);
  TRM_CUDA_CHECK(cudaGetLastError());
}

void act_read_heads(const ActParams* params, SampleState state, ActShape shape, const float* slot_logits,
                    const float* slot_q, const float* z_H, const float* z_L, int n, cudaStream_t stream) {
  if (n <= 0) return;
  act_read_heads_k<<<n, kReadThreads, 0, stream>>>(params, state, shape, slot_logits, slot_q, z_H, z_L);
  TRM_CUDA_CHECK(cudaGetLastError());
}

void act_record_trace(const ActParams* params, SampleState state, ActShape shape, cudaStream_t stream) {
  act_record_trace_k<<<(shape.batch + 255) / 256, 256, 0, stream>>>(params, state, shape.batch);
  TRM_CUDA_CHECK(cudaGetLastError());
  const size_t count = static_cast<size_t>(shape.batch) * shape.seq_len * shape.vocab;
  act_trace_logits_k<<<blocks_for(count, 256), 256, 0, stream>>>(params, state.logits, count);
  TRM_CUDA_CHECK(cudaGetLastError());
}

void act_compact(float* const* arrays, int array_count, const int32_t* moves, int kept, size_t slot_floats,
                 float* scratch, cudaStream_t stream) {
  if (kept <= 0) return;
  const size_t count = static_cast<size_t>(kept) * slot_floats;
  for (int a = 0; a < array_count; ++a) {
    gather_slots_k<<<blocks_for(count, 256), 256, 0, stream>>>(arrays[a], moves, kept, slot_floats, scratch);
    TRM_CUDA_CHECK(cudaGetLastError());
    TRM_CUDA_CHECK(cudaMemcpyAsync(arrays[a], scratch, count * sizeof(float), cudaMemcpyDeviceToDevice, stream));
  }
}

}  // namespace trm::cuda
