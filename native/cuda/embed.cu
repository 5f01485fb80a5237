// embed_f32 and init_carry_f32: one thread per (sample, position, channel).
// UNVERIFIED ON HARDWARE.
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/embed.cuh"

namespace trm::cuda {
namespace {

struct EmbedShape {
  int T, D, P, seq_len, puzzle_emb_ndim;
  bool learned;
  float embed_scale, learned_scale;
};

__global__ void embed_f32(EmbedShape s, EmbedTables tables, const int32_t* tokens, const int32_t* puzzle_ids, float* x,
                          size_t count) {
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t b = i / (static_cast<size_t>(s.T) * s.D);
    const int t = static_cast<int>(i / s.D % s.T), d = static_cast<int>(i % s.D);
    float v;
    if (t < s.P) {
      // The puzzle embedding, zero-padded to P * D and viewed as P rows.
      const int flat = t * s.D + d;
      const int32_t id = puzzle_ids != nullptr ? puzzle_ids[b] : 0;
      v = flat < s.puzzle_emb_ndim ? tables.puzzle_emb[static_cast<size_t>(id) * s.puzzle_emb_ndim + flat] : 0.f;
    } else {
      const int32_t token = tokens[b * s.seq_len + (t - s.P)];
      v = tables.embed_tokens[static_cast<size_t>(token) * s.D + d];
    }
    if (s.learned) v = __fmul_rn(s.learned_scale, __fadd_rn(v, tables.embed_pos[static_cast<size_t>(t) * s.D + d]));
    x[i] = __fmul_rn(v, s.embed_scale);
  }
}

__global__ void init_carry_f32(const float* H_init, const float* L_init, float* z_H, float* z_L, size_t count, int D) {
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    z_H[i] = H_init[i % D];
    z_L[i] = L_init[i % D];
  }
}

}  // namespace

void embed(const ModelSpec& spec, const EmbedTables& tables, const int32_t* tokens, const int32_t* puzzle_ids, float* x,
           int batch, cudaStream_t stream) {
  EmbedShape s;
  s.T = spec.total_len();
  s.D = spec.hidden_size;
  s.P = spec.puzzle_emb_len;
  s.seq_len = spec.seq_len;
  s.puzzle_emb_ndim = spec.puzzle_emb_ndim;
  s.learned = spec.pos_encoding == PosEncoding::kLearned;
  // Python floats multiply float32 tensors in float32: the scales are rounded first (as the CPU).
  s.embed_scale = static_cast<float>(std::sqrt(static_cast<double>(s.D)));
  s.learned_scale = static_cast<float>(0.707106781);
  const size_t count = static_cast<size_t>(batch) * s.T * s.D;
  embed_f32<<<blocks_for(count, 256), 256, 0, stream>>>(s, tables, tokens, puzzle_ids, x, count);
  TRM_CUDA_CHECK(cudaGetLastError());
}

void init_carry(const float* H_init, const float* L_init, float* z_H, float* z_L, int batch, int T, int D,
                cudaStream_t stream) {
  const size_t count = static_cast<size_t>(batch) * T * D;
  init_carry_f32<<<blocks_for(count, 256), 256, 0, stream>>>(H_init, L_init, z_H, z_L, count, D);
  TRM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trm::cuda
