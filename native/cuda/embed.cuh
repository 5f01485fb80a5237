// Input embeddings and the initial carry, for the batch's samples in slots 0..B-1.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/model_spec.h"

namespace trm::cuda {

struct EmbedTables {
  const float* embed_tokens;  // [vocab, D]
  const float* puzzle_emb;    // [num_puzzle_identifiers, puzzle_emb_ndim] or null
  const float* embed_pos;     // [T, D] with learned positions, else null
};

// x[b] = scale * (puzzle prefix rows ++ token rows) as core/forward.cc embed(); puzzle_ids
// may be null (all 0).
void embed(const ModelSpec& spec, const EmbedTables& tables, const int32_t* tokens, const int32_t* puzzle_ids, float* x,
           int batch, cudaStream_t stream);

// z_H[b][t] = H_init, z_L[b][t] = L_init for every sample and position.
void init_carry(const float* H_init, const float* L_init, float* z_H, float* z_L, int batch, int T, int D,
                cudaStream_t stream);

}  // namespace trm::cuda
