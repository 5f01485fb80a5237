// The two ends of the network, shared by inference (core/forward.cc) and the gradient engine
// (train/engine.cc): the input embedding of a sample, the initial carry, and the Q head.
// The lm_head GEMM itself stays with each caller (packed fp32/bf16 per sample there, one
// gathered GEMM with its weight gradient here); what it reads is token_rows().
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/model_spec.h"
#include "cpu/kernels.h"

namespace trm {

// The official code multiplies float32 tensors by Python floats, which rounds the scales to
// float32 first.
float embed_scale(const ModelSpec& spec);
constexpr float kLearnedPosScale = static_cast<float>(0.707106781);

// d x / d (an embedding value): embed_scale, times kLearnedPosScale with learned positions.
float embedding_gradient_scale(const ModelSpec& spec);

struct EmbeddingTables {
  const float* embed_tokens = nullptr;  // [vocab, hidden]
  const float* puzzle_emb = nullptr;    // [num_puzzle_identifiers, puzzle_emb_ndim], or null
  const float* embed_pos = nullptr;     // [total_len, hidden] (learned positions only)
};

// One sample's input embedding x [total_len, hidden] from its tokens [seq_len]: the puzzle
// prefix rows, then the token rows, plus learned positions, times embed_scale.
void embed_sample(const ModelSpec& spec, const EmbeddingTables& tables, const int32_t* tokens,
                  int32_t puzzle_identifier, float* x);

// `rows` rows of H_init into z_H and of L_init into z_L (the carry a fresh sample starts from).
void initial_carry(const float* H_init, const float* L_init, int hidden, size_t rows, float* z_H, float* z_L);

// The token positions of one sample's z_H [total_len, hidden]: lm_head's input rows.
inline const float* token_rows(const ModelSpec& spec, const float* z_H) {
  return z_H + static_cast<size_t>(spec.puzzle_emb_len) * spec.hidden_size;
}

// q_head on position 0 of one sample's z_H (the first prefix position, or the first token
// without a prefix): q[0] = halt, q[1] = continue. weight [2, hidden], bias [2].
void q_head(const cpu::KernelTable& kernels, const float* z_H, const float* weight, const float* bias, int hidden,
            float* q_halt, float* q_continue);

}  // namespace trm
