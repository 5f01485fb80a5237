// The gradient engine: one official training ACT step (TinyRecursiveReasoningModel_ACTV1_Inner
// .forward under ACTLossHead) and its backward, on fp32 parameters it owns.
//
// From the given carry (detached) it runs H_cycles - 1 cycles without gradient, then the
// last H cycle on the tape (L_cycles updates z_L = L(z_L, z_H + x), then z_H = L(z_H, z_L)),
// the heads (lm_head on the non-prefix positions, q_head on position 0) and the loss, and
// back-propagates into every trained parameter: gradients are ADDED to the parameters'
// gradient buffers (zero_gradients() clears them), so several steps may accumulate.
//
// The puzzle embedding is a buffer for this loss (official CastedSparseEmbedding); its
// gradient comes back per step in StepOutput, summed per distinct identifier, for the
// trainer's sparse optimizer.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/model.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "train/block.h"
#include "train/loss.h"
#include "train/params.h"
#include "train/tape.h"
#include "train/train_gemm.h"

namespace trm::train {

struct StepInput {
  int batch = 0;
  const int32_t* inputs = nullptr;              // [batch, seq_len]
  const int32_t* labels = nullptr;              // [batch, seq_len], -100 = ignored
  const int32_t* puzzle_identifiers = nullptr;  // [batch], or null (all 0)
  const float* carry_z_H = nullptr;             // [batch, total_len, hidden], or null (H_init)
  const float* carry_z_L = nullptr;             // likewise (L_init)
};

// Filled by step(); a caller that reuses one StepOutput across steps allocates nothing.
struct StepOutput {
  int batch = 0;
  LossParts loss;
  std::vector<float> z_H, z_L;          // the carry after the step [batch, total_len, hidden]
  std::vector<float> q_halt, q_continue;  // [batch]
  std::vector<int32_t> predictions;      // [batch, seq_len]
  std::vector<uint8_t> seq_correct;      // [batch]
  std::vector<int32_t> puzzle_ids;       // distinct identifiers of the batch, ascending
  std::vector<float> puzzle_grad;        // [puzzle_ids.size(), puzzle_emb_ndim]
};

class GradientEngine {
 public:
  // Copies the weights (checked as Model does; trm::Error kModel on a bad tensor).
  GradientEngine(const ModelSpec& spec, const WeightViews& weights, const cpu::KernelTable& kernels, int threads);

  const ModelSpec& spec() const { return spec_; }
  const cpu::KernelTable& kernels() const { return kernels_; }
  int threads() const { return pool_.size(); }
  ParamSet& params() { return params_; }
  // Bytes held by the tape for the largest batch seen so far.
  size_t tape_bytes() const { return tape_.bytes(); }

  void zero_gradients();
  // One step; checks the input (trm::Error kInput). Allocates only when the batch is larger
  // than every batch before it. Calls on one engine run one after another.
  void step(const StepInput& input, StepOutput& out);

 private:
  void check(const StepInput& input) const;
  void reserve(int batch);
  void embed(const StepInput& input, int n);
  void set_carry(const StepInput& input, int n);
  // One L_level call: hidden = L(hidden + injection), recorded in tape slot `slot`.
  void l_level(float* hidden, const float* injection, int slot, int n);
  void heads(int n, StepOutput& out);
  void backward(const StepInput& input, int n, StepOutput& out);
  // dL/d(call output) -> dL/d(call input), through the blocks of tape slot `slot`.
  // d holds dL/d(call output) on entry, dL/d(call input) on return.
  void l_level_backward(int slot, float* d, int n);
  void heads_backward(int n, float* d_z_H);
  void embedding_backward(const StepInput& input, const float* d_x, int n, StepOutput& out);

  ModelSpec spec_;
  const cpu::KernelTable& kernels_;
  ThreadPool pool_;
  ParamSet params_;
  std::vector<float> rope_cos_, rope_sin_;
  TrainGemm gemm_;
  BlockRunner blocks_;
  Tape tape_;
  std::mutex mutex_;
  int capacity_ = 0;
  const size_t carry_size_;

  AlignedBuffer x_;           // input embeddings [n * T, D]
  AlignedBuffer z_H_, z_L_;   // [n * T, D]
  AlignedBuffer injection_;   // z_H + x
  AlignedBuffer z_tokens_;    // z_H without the prefix [n * S, D] (lm_head's input)
  AlignedBuffer logits_;      // [n * S, V]
  AlignedBuffer d_logits_;    // [n * S, V]
  AlignedBuffer d_q_halt_;    // [n]
  AlignedBuffer d_z_tokens_;  // [n * S, D]
  AlignedBuffer d_state_;     // [n * T, D]: dL/d(z_H), then dL/d(z_L) down the cycle
  AlignedBuffer d_scratch_;   // [n * T, D]: ping-pong partner of d_state_ through the blocks
  AlignedBuffer d_x_;         // [n * T, D]: dL/d(input embeddings)
};

}  // namespace trm::train
