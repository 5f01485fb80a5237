// What the gradient-carrying H cycle keeps for its backward: for each of its L_cycles + 1
// calls of the shared L_level, the call's input (hidden + injection) and, per block, every
// activation its backward reads. Rows are batch-major [sample, position] as in inference.
// Sized once for a capacity of samples; the no-grad cycles reuse call slot 0 as scratch.
#pragma once

#include <vector>

#include "core/aligned_buffer.h"
#include "core/model_spec.h"

namespace trm::train {

struct BlockTape {
  // Attention blocks.
  AlignedBuffer qkv;    // [rows, 3D], q and k rotated
  AlignedBuffer probs;  // [n, heads, T, T]
  AlignedBuffer attn;   // [rows, D]: o_proj's input
  // mlp_t blocks: the token mixing runs on each sample transposed to [D, T].
  AlignedBuffer t_in;        // [n * D, T] block input, transposed
  AlignedBuffer t_gate_up;   // [n * D, 2 * mlp_t_inter]
  AlignedBuffer t_out;       // [n * D, T] after the norm over T
  AlignedBuffer t_inv_rms;   // [n * D]
  // Both: `mid` is the channel MLP's input (the first sublayer's normalized output).
  AlignedBuffer mid;          // [rows, D]
  AlignedBuffer mid_inv_rms;  // [rows] (attention)
  AlignedBuffer gate_up;      // [rows, 2 * mlp_inter]
  AlignedBuffer out;          // [rows, D]: the block's output
  AlignedBuffer out_inv_rms;  // [rows]
};

struct CallTape {
  AlignedBuffer input;  // [rows, D]: hidden + injection, the first block's input
  std::vector<BlockTape> blocks;
  const float* output() const { return blocks.back().out.data(); }
};

class Tape {
 public:
  // (Re)allocates for `capacity` samples when it holds fewer.
  void reserve(const ModelSpec& spec, int capacity);
  int capacity() const { return capacity_; }
  size_t bytes() const { return bytes_; }

  std::vector<CallTape> calls;  // L_cycles + 1

 private:
  int capacity_ = 0;
  size_t bytes_ = 0;
};

}  // namespace trm::train
