// One post-norm block of the official L_level, forward (recording its tape) and backward:
//   attention:  mid = rms_norm(x + o_proj(attn(qkv_proj(x))))
//   mlp_t:      mid = (rms_norm over tokens of (x^T + swiglu_t(x^T)))^T
//   then:       out = rms_norm(mid + swiglu(mid))
// The backward turns dL/dout into dL/dx and adds every weight gradient into the
// parameters' gradient buffers (the L_level weights are shared by all calls, so their
// gradients accumulate over the calls of the cycle).
#pragma once

#include <vector>

#include "core/aligned_buffer.h"
#include "core/model_spec.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "train/params.h"
#include "train/tape.h"
#include "train/train_gemm.h"

namespace trm::train {

class BlockRunner {
 public:
  BlockRunner(const ModelSpec& spec, const cpu::KernelTable& kernels, ThreadPool& pool, TrainGemm& gemm,
              const std::vector<float>& rope_cos, const std::vector<float>& rope_sin);

  // Grows the scratch buffers for `capacity` samples (first use only).
  void reserve(int capacity);

  // x: [n * T, D]. Writes every tape field of this block; the output is tape.out.
  void forward(const LayerParams& layer, const float* x, BlockTape& tape, int n);

  // d_out: [n * T, D] -> d_x: [n * T, D] (d_x must not alias d_out).
  void backward(const LayerParams& layer, const float* x, const BlockTape& tape, const float* d_out, float* d_x, int n);

 private:
  void attention_forward(const LayerParams& layer, const float* x, BlockTape& tape, int n);
  void token_mix_forward(const LayerParams& layer, const float* x, BlockTape& tape, int n);
  void channel_mlp_forward(const LayerParams& layer, BlockTape& tape, int n);
  // Each writes dL/d(sublayer input) from dL/d(sublayer output).
  void channel_mlp_backward(const LayerParams& layer, const BlockTape& tape, const float* d_out, float* d_mid, int n);
  void attention_backward(const LayerParams& layer, const float* x, const BlockTape& tape, const float* d_mid,
                          float* d_x, int n);
  void token_mix_backward(const LayerParams& layer, const BlockTape& tape, const float* d_mid, float* d_x, int n);

  const ModelSpec& spec_;
  const cpu::KernelTable& k_;
  ThreadPool& pool_;
  TrainGemm& gemm_;
  const std::vector<float>& rope_cos_;  // [T, head_dim] (RoPE only)
  const std::vector<float>& rope_sin_;
  const int T_, D_;
  int capacity_ = 0;

  AlignedBuffer act_;        // [rows, inter]: silu(gate) * up, recomputed in the backward
  AlignedBuffer d_pre_;      // [rows, D]: dL/d(pre-norm sum)
  AlignedBuffer d_mid_;      // [rows, D]
  AlignedBuffer d_act_;      // [rows, inter]
  AlignedBuffer d_gate_up_;  // [rows, 2 * inter]
  // Attention.
  AlignedBuffer d_attn_;     // [rows, D]
  AlignedBuffer d_qkv_;      // [rows, 3D]
  AlignedBuffer d_scores_;   // [n * heads * T]
  // mlp_t, all in the transposed [n * D, T] layout.
  AlignedBuffer t_act_;      // [n * D, t_inter]
  AlignedBuffer dt_;         // [n * D, T]
  AlignedBuffer dt_pre_;     // [n * D, T]
  AlignedBuffer dt_act_;     // [n * D, t_inter]
  AlignedBuffer dt_gate_up_; // [n * D, 2 * t_inter]
};

}  // namespace trm::train
