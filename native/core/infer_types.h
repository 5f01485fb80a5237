// What one fused inference call takes and returns. Plain data: the binding copies JS
// arrays into a request and a result back out, so the core never touches N-API.
#pragma once

#include <cstdint>
#include <vector>

#include "core/act.h"

namespace trm {

// Inference-time recursion depth at most this (per cycle count); lib/request.ts MAX_CYCLES.
constexpr int kMaxCycles = 256;

struct InferRequest {
  int batch = 0;
  std::vector<int32_t> inputs;              // [batch, seq_len]
  std::vector<int32_t> puzzle_identifiers;  // [batch], or empty (all 0)
  std::vector<float> carry_z_H;             // [batch, total_len, hidden], or empty (H_init)
  std::vector<float> carry_z_L;             // likewise, L_init
  act::StoppingRules stopping;  // core/act.h: when each sample stops
  // Recursion depth of every step; 0 runs the spec's (training) H_cycles / L_cycles.
  int h_cycles = 0;
  int l_cycles = 0;
  bool trace = false;
  bool trace_logits = false;
  bool return_carry = false;
};

struct InferResult {
  int batch = 0;
  std::vector<int32_t> predictions;  // [batch, seq_len] at each sample's final step
  std::vector<float> logits;         // [batch, seq_len, vocab] at each sample's final step
  std::vector<int32_t> steps;        // [batch] ACT steps each sample ran
  std::vector<float> q_halt;         // [batch] at the final step
  std::vector<float> q_continue;     // [batch]
  std::vector<uint8_t> stopped_by;   // [batch] act::StopReason: the rule that stopped each sample
  std::vector<float> carry_z_H;      // [batch, total_len, hidden] when asked
  std::vector<float> carry_z_L;

  // Trace: one record per step run by any sample, each of [batch] entries. A sample that
  // halted earlier repeats its final values, with halted = 1 and changed = 0; stopped_by is
  // act::kRunning until the step a sample stops, then the rule that stopped it.
  int trace_steps = 0;
  std::vector<float> trace_q_halt;
  std::vector<float> trace_q_continue;
  std::vector<float> trace_halt_probability;
  std::vector<uint8_t> trace_halted;
  std::vector<int32_t> trace_changed;
  std::vector<float> trace_confidence;
  std::vector<uint8_t> trace_stopped_by;
  std::vector<float> trace_logits;  // [trace_steps, batch, seq_len, vocab] with trace_logits
};

}  // namespace trm
