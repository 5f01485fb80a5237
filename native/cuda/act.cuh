// The ACT bookkeeping on the device, so a step needs no host round trip: the step counter,
// reading each slot's logits (argmax, changed, confidence), the stopping decision, the
// per-sample results and the trace. The rules and statistics are core/act.h's, the same
// functions the CPU loop (core/recursion.cc) calls.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/act.h"

namespace trm::cuda {

// What a call asked for, in device memory: the step graphs read it, so one captured graph
// serves every call of its batch size. `step` is advanced by act_begin_step.
struct ActParams {
  int step = 0;
  act::StoppingRules rules;
  int trace = 0;
  int want_trace_logits = 0;
  int return_carry = 0;
  // [rules.max_steps * batch] each, step-major; null without trace.
  float* trace_q_halt = nullptr;
  float* trace_q_continue = nullptr;
  float* trace_halt_probability = nullptr;
  uint8_t* trace_halted = nullptr;
  int32_t* trace_changed = nullptr;
  float* trace_confidence = nullptr;
  uint8_t* trace_stopped_by = nullptr;
  float* trace_logits = nullptr;  // [rules.max_steps * batch * seq_len * vocab] with trace_logits
  // [batch, T, D] each with return_carry: a sample's carry at its halting step.
  float* carry_z_H = nullptr;
  float* carry_z_L = nullptr;
};

// Per-sample state (indexed by sample, not slot), in the workspace.
struct SampleState {
  int32_t* slot_sample;  // [batch]: the sample in slot j
  int32_t* predictions;  // [batch, seq_len], starts as the inputs ("changed" at step 1 counts against them)
  float* logits;         // [batch, seq_len, vocab]
  int32_t* steps;
  float* q_halt;
  float* q_continue;
  float* halt_probability;
  float* confidence;
  int32_t* changed;
  int32_t* unchanged_run;  // act::next_unchanged_run, for the stable rule
  uint8_t* halted;
  uint8_t* stopped_by;     // act::StopReason
};

struct ActShape {
  int batch, seq_len, vocab, T, D;
};

// step += 1; changed[b] = 0 for every sample.
void act_begin_step(ActParams* params, SampleState state, ActShape shape, cudaStream_t stream);

// For slots j < n: read slot_logits[j] ([seq_len, vocab]) and slot_q[j] ({halt, continue})
// into the sample's state; decide stopping (act::stop_reason); on stopping with
// return_carry, copy the slot's z_H/z_L out.
void act_read_heads(const ActParams* params, SampleState state, ActShape shape, const float* slot_logits,
                    const float* slot_q, const float* z_H, const float* z_L, int n, cudaStream_t stream);

// The trace record of the step just run, for every sample (halted ones repeat their final
// values with changed = 0), and with trace_logits a copy of every sample's logits.
void act_record_trace(const ActParams* params, SampleState state, ActShape shape, cudaStream_t stream);

// Packs the slots still running to the front: dst slot i takes src slot moves[i] of each of
// `arrays` ([slots, T * D] each), through `scratch` ([kept, T * D]).
void act_compact(float* const* arrays, int array_count, const int32_t* moves, int kept, size_t slot_floats,
                 float* scratch, cudaStream_t stream);

}  // namespace trm::cuda
