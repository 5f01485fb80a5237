// attention_f32_online: one block per (32-query tile, head, sample), 4 warps of 8 queries.
// Keys and values stream through shared memory 32 at a time with an online softmax (so any T
// fits: the T x T scores are never stored); a lane owns one key of the tile for the scores
// and head_dim/32 output channels for the weighted sum. Online softmax and a final division
// differ from the CPU's two-pass softmax by rounding only.
// UNVERIFIED ON HARDWARE.
#include <cmath>

#include "cuda/attention.cuh"
#include "cuda/common.cuh"

namespace trm::cuda {
namespace {

constexpr int kWarps = 4, kQueriesPerWarp = 8, kQueryTile = kWarps * kQueriesPerWarp, kKeyTile = 32;
constexpr int kMaxPerLane = kAttentionMaxHeadDim / 32;

// x rotated by RoPE at position t, element d (rotate_half: pairs (i, i + half)), in the CPU's
// order of operations without FMA contraction.
__device__ inline float rope_at(const float* x, int d, int half, const float* cos, const float* sin) {
  if (cos == nullptr) return x[d];
  if (d < half) return __fsub_rn(__fmul_rn(x[d], cos[d]), __fmul_rn(x[d + half], sin[d]));
  return __fadd_rn(__fmul_rn(x[d], cos[d]), __fmul_rn(x[d - half], sin[d]));
}

__global__ void __launch_bounds__(kWarps * 32)
    attention_f32_online(const float* __restrict__ qkv, float* __restrict__ out, int T, int D, int hd,
                         const float* __restrict__ rope_cos, const float* __restrict__ rope_sin, float scale) {
  extern __shared__ float smem[];
  float* qs = smem;                        // [kQueryTile][hd]
  float* ks = qs + kQueryTile * hd;        // [kKeyTile][hd + 1] (+1: lanes read different rows)
  float* vs = ks + kKeyTile * (hd + 1);    // [kKeyTile][hd]
  const int q0 = blockIdx.x * kQueryTile, head = blockIdx.y, sample = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, half = hd / 2;
  const int64_t stride = 3 * static_cast<int64_t>(D);
  const float* base = qkv + static_cast<int64_t>(sample) * T * stride + static_cast<int64_t>(head) * hd;

  for (int i = tid; i < kQueryTile * hd; i += blockDim.x) {
    const int q = i / hd, d = i % hd, t = q0 + q;
    float v = 0.f;
    if (t < T) {
      const float* cos = rope_cos ? rope_cos + static_cast<int64_t>(t) * hd : nullptr;
      const float* sin = rope_sin ? rope_sin + static_cast<int64_t>(t) * hd : nullptr;
      v = rope_at(base + t * stride, d, half, cos, sin);
    }
    qs[i] = v;
  }

  float m[kQueriesPerWarp], l[kQueriesPerWarp], acc[kQueriesPerWarp][kMaxPerLane];
#pragma unroll
  for (int q = 0; q < kQueriesPerWarp; ++q) {
    m[q] = -INFINITY;
    l[q] = 0.f;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) acc[q][j] = 0.f;
  }

  for (int k0 = 0; k0 < T; k0 += kKeyTile) {
    __syncthreads();  // the previous tile is consumed (and, the first time, qs is written)
    for (int i = tid; i < kKeyTile * hd; i += blockDim.x) {
      const int j = i / hd, d = i % hd, t = k0 + j;
      float kv = 0.f, vv = 0.f;
      if (t < T) {
        const float* row = base + t * stride;
        const float* cos = rope_cos ? rope_cos + static_cast<int64_t>(t) * hd : nullptr;
        const float* sin = rope_sin ? rope_sin + static_cast<int64_t>(t) * hd : nullptr;
        kv = rope_at(row + D, d, half, cos, sin);
        vv = row[2 * D + d];
      }
      ks[j * (hd + 1) + d] = kv;
      vs[j * hd + d] = vv;
    }
    __syncthreads();
    const bool valid = k0 + lane < T;
#pragma unroll
    for (int q = 0; q < kQueriesPerWarp; ++q) {
      const float* qrow = qs + (warp * kQueriesPerWarp + q) * hd;
      float s = 0.f;
      for (int d = 0; d < hd; ++d) s = fmaf(qrow[d], ks[lane * (hd + 1) + d], s);
      s = valid ? s * scale : -INFINITY;
      float tile_max = s;
      for (int o = 16; o > 0; o >>= 1) tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, o));
      const float m_new = fmaxf(m[q], tile_max);
      const float correction = expf(m[q] - m_new);  // exp(-inf) = 0 on the first tile
      const float p = valid ? expf(s - m_new) : 0.f;
      float p_sum = p;
      for (int o = 16; o > 0; o >>= 1) p_sum += __shfl_xor_sync(0xffffffffu, p_sum, o);
      l[q] = l[q] * correction + p_sum;
      m[q] = m_new;
#pragma unroll
      for (int j = 0; j < kMaxPerLane; ++j) acc[q][j] *= correction;
      for (int key = 0; key < kKeyTile; ++key) {
        const float pk = __shfl_sync(0xffffffffu, p, key);
#pragma unroll
        for (int j = 0; j < kMaxPerLane; ++j) {
          const int d = lane + 32 * j;
          if (d < hd) acc[q][j] = fmaf(pk, vs[key * hd + d], acc[q][j]);
        }
      }
    }
  }

#pragma unroll
  for (int q = 0; q < kQueriesPerWarp; ++q) {
    const int t = q0 + warp * kQueriesPerWarp + q;
    if (t >= T) continue;
    float* o = out + (static_cast<int64_t>(sample) * T + t) * D + static_cast<int64_t>(head) * hd;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      const int d = lane + 32 * j;
      if (d < hd) o[d] = acc[q][j] / l[q];
    }
  }
}

}  // namespace

void attention_configure() {
  // Over 48 KB of dynamic shared memory needs an opt-in (hd = 128 takes 49.3 KB). Done at
  // load, not inside a graph capture.
  TRM_CUDA_CHECK(cudaFuncSetAttribute(attention_f32_online, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(sizeof(float) * (kQueryTile * kAttentionMaxHeadDim +
                                                                        kKeyTile * (kAttentionMaxHeadDim + 1) +
                                                                        kKeyTile * kAttentionMaxHeadDim))));
}

void attention(const float* qkv, float* out, int n, int T, int D, int heads, const float* rope_cos,
               const float* rope_sin, cudaStream_t stream) {
  if (n <= 0) return;
  const int hd = D / heads;
  if (hd > kAttentionMaxHeadDim) throw DeviceError("attention: head_dim over 128 is not supported by the CUDA backend");
  const size_t smem = sizeof(float) * (static_cast<size_t>(kQueryTile) * hd + kKeyTile * (hd + 1) + kKeyTile * hd);
  const dim3 grid((T + kQueryTile - 1) / kQueryTile, heads, n);
  attention_f32_online<<<grid, kWarps * 32, smem, stream>>>(qkv, out, T, D, hd, rope_cos, rope_sin,
                                                           static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd))));
  TRM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trm::cuda
