// One ACT step of the network on slots [0, n): H_cycles x (L_cycles x z_L = L(z_L, z_H + x);
// z_H = L(z_H, z_L)), then lm_head, q_head and the device-side ACT bookkeeping. Everything
// is enqueued on one stream with fixed pointers, so the sequence is captured once as a CUDA
// graph per n and replayed for every step (cuda_model.cu).
#pragma once

#include <cuda_runtime.h>

#include "core/model.h"
#include "cuda/act.cuh"
#include "cuda/device_weights.cuh"
#include "cuda/gemm.cuh"

namespace trm::cuda {

// Buffers for up to `capacity` slots: allocated once per batch size, never in the step.
struct Workspace {
  int capacity = 0;
  DeviceBuffer x, z_H, z_L;        // [capacity, T, D]
  DeviceBuffer qkv, attn;          // [capacity * T, 3D], [capacity * T, D] (attention)
  DeviceBuffer tmp;                // [capacity * T, D]: a projection before residual + norm
  DeviceBuffer act;                // [capacity * T, mlp_inter]
  DeviceBuffer t_gate_up, t_act;   // [capacity, 2 * mlp_t_inter, D], [capacity, mlp_t_inter, D]
  DeviceBuffer slot_logits, slot_q;  // [capacity, seq_len, vocab], [capacity, 2]
  DeviceBuffer scratch;            // [capacity, T, D] for compaction
  DeviceBuffer moves;              // [capacity] int32
  DeviceBuffer inputs, puzzle_ids;  // [capacity, seq_len], [capacity] int32
  // Per-sample state (act.cuh SampleState), and the call's parameters.
  DeviceBuffer slot_sample, predictions, logits, steps, q_halt, q_continue, halt_probability, confidence, changed,
      unchanged_run, halted, stopped_by;
  DeviceBuffer params;  // one ActParams

  Workspace(const ModelSpec& spec, int capacity);
  SampleState state() const;
  ActParams* act_params() const { return params.as<ActParams>(); }
};

void enqueue_step(const ModelSpec& spec, const DeviceWeights& weights, GemmMath math, const Workspace& ws, int n,
                  cudaStream_t stream);

}  // namespace trm::cuda
