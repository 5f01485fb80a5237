#include "train/tape.h"

namespace trm::train {

void Tape::reserve(const ModelSpec& s, int capacity) {
  if (capacity <= capacity_) return;
  const size_t n = static_cast<size_t>(capacity), T = s.total_len(), D = s.hidden_size, rows = n * T;
  size_t total = 0;
  auto alloc = [&total](AlignedBuffer& b, size_t count) {
    b.resize(count);
    total += count * sizeof(float);
  };
  calls.clear();
  calls.resize(static_cast<size_t>(s.L_cycles) + 1);
  for (CallTape& call : calls) {
    alloc(call.input, rows * D);
    call.blocks.resize(static_cast<size_t>(s.L_layers));
    for (BlockTape& b : call.blocks) {
      if (s.mlp_t) {
        alloc(b.t_in, rows * D);
        alloc(b.t_gate_up, n * D * 2 * s.mlp_t_inter);
        alloc(b.t_out, rows * D);
        alloc(b.t_inv_rms, n * D);
      } else {
        alloc(b.qkv, rows * 3 * D);
        alloc(b.probs, n * s.num_heads * T * T);
        alloc(b.attn, rows * D);
        alloc(b.mid_inv_rms, rows);
      }
      alloc(b.mid, rows * D);
      alloc(b.gate_up, rows * 2 * s.mlp_inter);
      alloc(b.out, rows * D);
      alloc(b.out_inv_rms, rows);
    }
  }
  capacity_ = capacity;
  bytes_ = total;
}

}  // namespace trm::train
