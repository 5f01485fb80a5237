// The network of one ACT step, batched over the active samples: input embeddings, the
// H/L cycles of the shared L_level, and the heads. Samples live in "slots" 0..n-1 of the
// workspace; the ACT loop (recursion.cc) keeps the active ones packed at the front, so a
// halted sample costs nothing.
#pragma once

#include <cstdint>

#include "core/aligned_buffer.h"
#include "core/model.h"

namespace trm {

class Forward {
 public:
  // A step whose split layers would give each parallel region less than this much work on
  // average (2 x multiply-adds: a layer's, on all the step's samples, over its regions; see
  // regions_per_layer in forward.cc) runs on one thread (step()). Set from bench/threads.js
  // on Intel Xeon f6 m207 (KVM, 2 cores): batch 1, each call after a 20 ms idle gap as a
  // server's are, each variant in processes of its own. With batch 1 split by columns (six
  // regions an attention layer), 2 threads were 0.78-0.99x of 1 thread at 0.36 MFLOP a
  // region (hidden 64, 16 positions, attention), never faster; since a worker moves off its
  // caller's CPU (thread_pool.cc), 1.1-1.33x at 0.78 (`sudoku-4x4`) and 1.16-1.8x from 4 up.
  // Split by rows (three regions; kMinRowsPerPart), that smallest shape is 0.73 MFLOP a
  // region and 1.08x, `sudoku-4x4` (1.55) 1.30x, the other shipped models 1.03-1.72x.
  static constexpr double kSplitMinRegionFlops = 0.5e6;
  // kSplitMinRegionFlops, or TRM_SPLIT_MIN_REGION_FLOPS where set (0: always split). A model
  // reads it once, at load: bench/threads.js loads its variants each way to find the bound
  // on another CPU.
  static double split_min_region_flops_from_env();
  // Whether step(n) runs on the calling thread alone, for a pool of `threads`.
  static bool runs_on_one_thread(const ModelSpec& spec, int threads, int n, double split_min_region_flops);

  // Allocates every buffer for up to `capacity` samples; nothing is allocated after this.
  Forward(const ModelSpec& spec, const ModelWeights& weights, const cpu::KernelTable& kernels,
          ThreadPool& pool, int capacity, double split_min_region_flops);

  // The input embedding of one sample (tokens [seq_len]) into slot `slot`.
  void embed(int slot, const int32_t* tokens, int32_t puzzle_identifier);
  // Sets a slot's carry: from [total_len * hidden] arrays, or H_init/L_init when null.
  void set_carry(int slot, const float* z_H, const float* z_L);
  // Copies slot `from` (embedding and carry) over slot `to`.
  void move_slot(int from, int to);

  // One ACT step on slots [0, n): H_cycles x (L_cycles x z_L = L(z_L, z_H + x); z_H = L(z_H, z_L)).
  // With a batch of at least as many samples as threads, each thread runs the whole step on
  // its own group of samples, with no barrier. Otherwise each layer runs as a few parallel
  // regions (three for attention, two for mlp_t), where a thread carries its rows through a
  // chain of operations (GEMM, residual, norm, the next GEMM...) in chunks that stay in its
  // cache; or, with too few rows to give every thread a register tile of them (under
  // kMinRowsPerPart a thread), each GEMM is split by output features, each thread carrying
  // its heads through attention and its gate/up features through the SiLU.
  void step(int n);
  // lm_head on z_H without the prefix -> logits(slot), q_head on z_H[:, 0] -> q(slot).
  void heads(int n);

  const float* z_H(int slot) const { return z_H_.data() + slot * carry_size_; }
  const float* z_L(int slot) const { return z_L_.data() + slot * carry_size_; }
  const float* logits(int slot) const { return logits_.data() + slot * logits_size_; }
  float q_halt(int slot) const { return q_.data()[2 * slot]; }
  float q_continue(int slot) const { return q_.data()[2 * slot + 1]; }
  size_t carry_size() const { return carry_size_; }
  size_t logits_size() const { return logits_size_; }

 private:
  // One L_level pass: hidden += a (+ b) (the injection), then every layer.
  void l_level_samples(float* hidden, const float* inject_a, const float* inject_b, int s0, int s1, int part);
  void l_level_split(float* hidden, const float* inject_a, const float* inject_b, int n);
  // The stages of a layer on a range of rows, on the calling thread (scratch slot `part`).
  void qkv_rows(const LayerWeights& layer, float* hidden, const float* inject_a, const float* inject_b, int r0, int r1);
  void output_rows(const LayerWeights& layer, float* hidden, int r0, int r1, int part);
  void token_mlp_rows(const LayerWeights& layer, float* hidden, const float* inject_a, const float* inject_b,
                      int r0, int r1, int part);  // rows of the transposed [sample * hidden] layout
  void channel_rows(const LayerWeights& layer, float* hidden, int r0, int r1, int part);
  // Channel SwiGLU + residual + norm on rows [r0, r1) (the tail of every layer).
  void channel_mlp_rows(const LayerWeights& layer, float* hidden, int r0, int r1, int part);
  void attention_unit(int sample, int head, int part);
  void attention_units(int n);
  // Rows a thread takes at least when a layer is split by rows: one register tile (mr 8).
  // With fewer rows than that for every thread, a layer's GEMMs are split by output features
  // instead (see step()). Splitting by output features was the choice up to 512 rows (every
  // batch-1 step), to keep two threads from streaming the same weights; since the caller
  // takes unstarted parts and workers move off its CPU (thread_pool.h), its six barriers a
  // layer cost more than that saves. Split by rows instead, 2 threads, batch 1 (Intel f6
  // m207, both ways on one model, call by call, median of per-pair ratios): shipped models
  // 1.07-1.24x (intent 1.24x, maze 1.20x, sudoku-9x9 1.17x; 1.09-1.18x after a 20 ms gap),
  // one ACT step of long / sudoku-attention / sudoku-mlp_t 1.04x / 1.00x / 1.08x in fp32
  // (a later run: 1.06x / 1.04x / 0.97x), 1.09x / 1.13x / 1.00x in int8, 1.08x / 1.12x /
  // 1.06x in bf16.
  static constexpr int kMinRowsPerPart = 8;
  // Whether `rows` split by rows over `threads` would leave a thread without kMinRowsPerPart.
  static bool too_few_rows_per_thread(int rows, int threads) { return rows < kMinRowsPerPart * threads; }
  bool split_by_columns(int rows) const;
  void layer_by_columns(const LayerWeights& layer, float* hidden, const float* inject_a, const float* inject_b, int n);
  // fn(j0, j1) over w's output features, one range of whole panels per thread.
  template <typename Fn>
  void for_column_parts(const PackedLinear& w, Fn&& fn);
  // fn(j0, j1, part) over features [0, n) of w.
  template <typename Fn>
  void for_column_parts(const PackedLinear& w, int n, Fn&& fn);
  // RoPE on q and k of heads [h0, h1) (all heads by default) in qkv rows [r0, r1).
  void rope_rows(int r0, int r1, int h0 = 0, int h1 = -1);
  // c (=|+=) a W^T for `m` rows on the calling thread, fp32 or bf16 as the weight was packed.
  void gemm(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) const;
  // act (m x inter) = silu(gate) * up of gate_up for `m` rows, fused where the kernel can
  // (gu, m x 2 * inter, is then untouched).
  void swiglu(const PackedLinear& gate_up, const float* a, int lda, float* gu, float* act, int m) const;
  // fn(r0, r1, part) over [0, rows) split into one contiguous range per thread, each of at
  // least kMinRowsPerPart rows (fewer threads where there are not enough).
  template <typename Fn>
  void for_row_parts(int rows, Fn&& fn);

  const ModelSpec& spec_;
  const ModelWeights& weights_;
  const cpu::KernelTable& k_;
  ThreadPool& pool_;
  const int T_, D_;
  const size_t carry_size_, logits_size_;

  const int parts_;  // threads in the pool: one scratch slot each
  const int qkv_chunk_, mlp_chunk_, token_chunk_;  // rows a thread carries through a chain at a time
  const double split_min_region_flops_;   // see kSplitMinRegionFlops
  AlignedBuffer x_, z_H_, z_L_;
  AlignedBuffer qkv_, attn_;
  // Per thread: one (sample, head)'s packed keys, packed transposed values, and the scores of
  // one block of its query rows (cpu/attention.h).
  AlignedBuffer keys_, values_, scores_;
  size_t keys_size_ = 0, values_size_ = 0, scores_size_ = 0;
  AlignedBuffer gate_up_, act_;
  AlignedBuffer col_gate_up_, col_act_;  // layer_by_columns: each thread's gate/up values, every row's SiLU product
  size_t col_part_floats_ = 0;           // one thread's share of col_gate_up_
  AlignedBuffer transposed_, t_gate_up_, t_act_;
  AlignedBuffer logits_, q_;
};

}  // namespace trm
