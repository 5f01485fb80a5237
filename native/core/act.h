// The ACT contract, once for every implementation of the operator: when a sample stops
// (the stopping rules and their precedence) and the per-step trace statistics (argmax,
// changed, confidence). The CPU loop (core/recursion.cc) and the CUDA kernels
// (cuda/act.cu) call these; lib/halting.ts and lib/trace.ts are the TypeScript twins the
// host-loop backends use and the tests hold both to. Plain header, no N-API, no CUDA
// runtime: under nvcc every function is also a device function.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/host_device.h"

namespace trm::act {

// Why a sample stopped, as the result and trace arrays store it (one byte a sample).
// lib/halting.ts STOP_REASONS lists the same rules in the same order: code = index + 1.
enum StopReason : uint8_t { kRunning = 0, kHalt = 1, kConfidence = 2, kStable = 3, kMaxSteps = 4 };

// What a call asked for. Every adaptive rule is gated by min_steps; max_steps always stops.
struct StoppingRules {
  int max_steps = 1;
  int min_steps = 1;
  bool use_halt = false;
  double halt_threshold = 0.5;  // double, so the decision matches the TypeScript one bit for bit
  bool use_confidence = false;
  double confidence_threshold = 0.85;
  int stable_steps = 0;  // 0: off

  TRM_HOST_DEVICE bool adaptive() const { return use_halt || use_confidence || stable_steps > 0; }
};

// sigmoid(q_halt), in double from the float32 logit.
TRM_HOST_DEVICE inline double halt_probability(float q_halt) { return 1.0 / (1.0 + exp(-static_cast<double>(q_halt))); }

// Consecutive steps, ending at this one, whose `changed` was 0 (step 1 compares against the
// input tokens, as the trace's `changed` does).
TRM_HOST_DEVICE inline int next_unchanged_run(int run, int32_t changed) { return changed == 0 ? run + 1 : 0; }

// The rule that stops a sample after ACT step `step` (1-based), or kRunning. When several
// fire at one step the first in this order wins: halt > confidence > stable > max_steps.
// `confidence` is the float32 value the trace records.
TRM_HOST_DEVICE inline StopReason stop_reason(const StoppingRules& r, int step, double p_halt, float confidence,
                                              int unchanged_run) {
  if (step >= r.min_steps) {
    if (r.use_halt && p_halt > r.halt_threshold) return kHalt;
    if (r.use_confidence && static_cast<double>(confidence) >= r.confidence_threshold) return kConfidence;
    if (r.stable_steps > 0 && unchanged_run >= r.stable_steps) return kStable;
  }
  return step >= r.max_steps ? kMaxSteps : kRunning;
}

// One position's logits: the argmax (first maximum wins, as torch.argmax) and its softmax
// probability 1 / sum_v exp(row[v] - row[argmax]), in double.
struct PositionRead {
  int argmax;
  double top_probability;
};

TRM_HOST_DEVICE inline PositionRead read_position(const float* row, int vocab) {
  int best = 0;
  for (int v = 1; v < vocab; ++v) {
    if (row[v] > row[best]) best = v;
  }
  double sum = 0.0;
  for (int v = 0; v < vocab; ++v) sum += exp(static_cast<double>(row[v]) - row[best]);
  return PositionRead{best, 1.0 / sum};
}

// The trace's confidence: the mean over positions of the top probability, rounded to float32.
TRM_HOST_DEVICE inline float mean_confidence(double top_probability_sum, int seq_len) {
  return static_cast<float>(top_probability_sum / seq_len);
}

struct StepStats {
  int32_t changed;
  float confidence;
};

// A whole sample's statistics with positions in order (the CPU loop; the CUDA kernel splits
// the positions over threads and adds the same terms). `predictions` [seq_len] holds the
// previous step's argmax (the input tokens before step 1) and is updated in place.
TRM_HOST_DEVICE inline StepStats read_sample(const float* logits, int seq_len, int vocab, int32_t* predictions) {
  int32_t changed = 0;
  double sum = 0.0;
  for (int t = 0; t < seq_len; ++t) {
    const PositionRead p = read_position(logits + static_cast<size_t>(t) * vocab, vocab);
    sum += p.top_probability;
    if (predictions[t] != p.argmax) ++changed;
    predictions[t] = p.argmax;
  }
  return StepStats{changed, mean_confidence(sum, seq_len)};
}

}  // namespace trm::act
