// GEMM kernels (gemm.cuh). Two tile kernels, both 64x64 output tiles:
//   gemm_f32_simt_64x64x16: 256 threads, 4x4 outputs each, fp32 FMA (parity mode).
//   gemm_bf16_mma_64x64x32: 128 threads (2x2 warps of 32x32), mma.sync.m16n8k16 bf16 -> fp32.
// Operands are read from global memory with bounds checks and converted while being stored
// to shared memory (fp32 -> bf16 with the CPU's rounding), so any stride and any size works;
// no cp.async pipeline yet (a tuning step for the GPU session, see README.md).
// UNVERIFIED ON HARDWARE.
#include "cuda/common.cuh"
#include "cuda/gemm.cuh"

namespace trm::cuda {
namespace {

template <typename T>
__device__ inline float load_f32(const void* p, int64_t i);
template <>
__device__ inline float load_f32<float>(const void* p, int64_t i) { return static_cast<const float*>(p)[i]; }

template <typename T>
__device__ inline uint16_t load_bf16(const void* p, int64_t i);
template <>
__device__ inline uint16_t load_bf16<float>(const void* p, int64_t i) { return bf16_from_f32(static_cast<const float*>(p)[i]); }
template <>
__device__ inline uint16_t load_bf16<uint16_t>(const void* p, int64_t i) { return static_cast<const uint16_t*>(p)[i]; }

__device__ inline float silu(float g) { return g / (1.f + expf(-g)); }

// Writes one pair of adjacent output columns (col even) of row `row`.
__device__ inline void store_pair(const GemmArgs& g, float* c, int row, int col, float v0, float v1) {
  if (row >= g.m) return;
  float* out = c + static_cast<int64_t>(row) * g.ldc;
  switch (g.epilogue) {
    case Epilogue::kSwiGLU:
      if (col + 1 < g.n) out[col / 2] = silu(v0) * v1;
      return;
    case Epilogue::kAccumulate:
      if (col < g.n) out[col] += v0;
      if (col + 1 < g.n) out[col + 1] += v1;
      return;
    default:
      if (col < g.n) out[col] = v0;
      if (col + 1 < g.n) out[col + 1] = v1;
  }
}

// ---- fp32 SIMT ---------------------------------------------------------------------------
constexpr int kF32Tile = 64, kF32K = 16;

template <typename TA, typename TB>
__global__ void __launch_bounds__(256) gemm_f32_simt_64x64x16(GemmArgs g) {
  __shared__ float As[kF32K][kF32Tile + 4];
  __shared__ float Bs[kF32K][kF32Tile + 4];
  const int64_t z = blockIdx.z;
  const char* a = static_cast<const char*>(g.a) + z * g.a_batch * static_cast<int64_t>(sizeof(TA));
  const char* b = static_cast<const char*>(g.b) + z * g.b_batch * static_cast<int64_t>(sizeof(TB));
  float* c = g.c + z * g.c_batch;
  const int m0 = blockIdx.y * kF32Tile, n0 = blockIdx.x * kF32Tile;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const bool b_k_fast = g.b_k == 1;  // pick the load order that reads B coalesced
  float acc[4][4] = {};
  for (int k0 = 0; k0 < g.k; k0 += kF32K) {
    for (int i = tid; i < kF32Tile * kF32K; i += 256) {
      const int r = i / kF32K, kk = i % kF32K, gm = m0 + r, gk = k0 + kk;
      As[kk][r] = (gm < g.m && gk < g.k) ? load_f32<TA>(a, static_cast<int64_t>(gm) * g.lda + gk) : 0.f;
      const int bn = b_k_fast ? i / kF32K : i % kF32Tile, bk = b_k_fast ? i % kF32K : i / kF32Tile;
      const int gn = n0 + bn, gkb = k0 + bk;
      Bs[bk][bn] = (gn < g.n && gkb < g.k) ? load_f32<TB>(b, static_cast<int64_t>(gkb) * g.b_k + static_cast<int64_t>(gn) * g.b_n) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kF32K; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int row = m0 + ty * 4 + i;
    store_pair(g, c, row, n0 + tx * 4, acc[i][0], acc[i][1]);
    store_pair(g, c, row, n0 + tx * 4 + 2, acc[i][2], acc[i][3]);
  }
}

// ---- bf16 tensor cores -------------------------------------------------------------------
constexpr int kMmaTile = 64, kMmaK = 32, kMmaPad = 8;  // pad: rows 80 bytes apart, fewer bank conflicts

__device__ inline void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // built for sm_80+ only (CMAKE_CUDA_ARCHITECTURES); never reached there
#endif
}

template <typename TA, typename TB>
__global__ void __launch_bounds__(128) gemm_bf16_mma_64x64x32(GemmArgs g) {
  // Both tiles k-contiguous: As[m][k] is mma's row-major A, Bs[n][k] its column-major B, so
  // every fragment register is one aligned 32-bit read of two consecutive k.
  __shared__ __align__(16) uint16_t As[kMmaTile][kMmaK + kMmaPad];
  __shared__ __align__(16) uint16_t Bs[kMmaTile][kMmaK + kMmaPad];
  const int64_t z = blockIdx.z;
  const char* a = static_cast<const char*>(g.a) + z * g.a_batch * static_cast<int64_t>(sizeof(TA));
  const char* b = static_cast<const char*>(g.b) + z * g.b_batch * static_cast<int64_t>(sizeof(TB));
  float* c = g.c + z * g.c_batch;
  const int m0 = blockIdx.y * kMmaTile, n0 = blockIdx.x * kMmaTile;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / 2, wn = warp % 2, group = lane / 4, tig = lane % 4;
  const bool b_k_fast = g.b_k == 1;
  float acc[2][4][4] = {};
  for (int k0 = 0; k0 < g.k; k0 += kMmaK) {
    for (int i = tid; i < kMmaTile * kMmaK; i += 128) {
      const int r = i / kMmaK, kk = i % kMmaK, gm = m0 + r, gk = k0 + kk;
      As[r][kk] = (gm < g.m && gk < g.k) ? load_bf16<TA>(a, static_cast<int64_t>(gm) * g.lda + gk) : uint16_t(0);
      const int bn = b_k_fast ? i / kMmaK : i % kMmaTile, bk = b_k_fast ? i % kMmaK : i / kMmaTile;
      const int gn = n0 + bn, gkb = k0 + bk;
      Bs[bn][bk] = (gn < g.n && gkb < g.k) ? load_bf16<TB>(b, static_cast<int64_t>(gkb) * g.b_k + static_cast<int64_t>(gn) * g.b_n)
                                           : uint16_t(0);
    }
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < kMmaK; ks += 16) {
      uint32_t af[2][4], bfr[4][2];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
        const int r = wm * 32 + mi * 16 + group;
        af[mi][0] = *reinterpret_cast<const uint32_t*>(&As[r][ks + tig * 2]);
        af[mi][1] = *reinterpret_cast<const uint32_t*>(&As[r + 8][ks + tig * 2]);
        af[mi][2] = *reinterpret_cast<const uint32_t*>(&As[r][ks + tig * 2 + 8]);
        af[mi][3] = *reinterpret_cast<const uint32_t*>(&As[r + 8][ks + tig * 2 + 8]);
      }
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
        const int n = wn * 32 + ni * 8 + group;
        bfr[ni][0] = *reinterpret_cast<const uint32_t*>(&Bs[n][ks + tig * 2]);
        bfr[ni][1] = *reinterpret_cast<const uint32_t*>(&Bs[n][ks + tig * 2 + 8]);
      }
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) mma_bf16_16816(acc[mi][ni], af[mi], bfr[ni]);
      }
    }
    __syncthreads();
  }
  // Accumulator layout: d0, d1 at (group, 2*tig + {0,1}); d2, d3 at (group + 8, same cols),
  // so each thread holds adjacent column pairs, which kSwiGLU needs.
#pragma unroll
  for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
    for (int ni = 0; ni < 4; ++ni) {
      const int row = m0 + wm * 32 + mi * 16 + group, col = n0 + wn * 32 + ni * 8 + tig * 2;
      store_pair(g, c, row, col, acc[mi][ni][0], acc[mi][ni][1]);
      store_pair(g, c, row + 8, col, acc[mi][ni][2], acc[mi][ni][3]);
    }
  }
}

}  // namespace

void gemm(const GemmArgs& g, GemmMath math, cudaStream_t stream) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return;
  if (g.k <= 0) throw DeviceError("gemm: k must be >= 1");
  if (g.batch > 65535) throw DeviceError("gemm: batch over 65535");
  const dim3 grid((g.n + 63) / 64, (g.m + 63) / 64, g.batch);
  if (grid.y > 65535) throw DeviceError("gemm: too many rows for one launch");
  if (math == GemmMath::kFp32) {
    if (g.a_bf16 || g.b_bf16) throw DeviceError("gemm: fp32 math takes fp32 operands");
    gemm_f32_simt_64x64x16<float, float><<<grid, 256, 0, stream>>>(g);
  } else if (g.a_bf16 && g.b_bf16) {
    gemm_bf16_mma_64x64x32<uint16_t, uint16_t><<<grid, 128, 0, stream>>>(g);
  } else if (g.a_bf16) {
    gemm_bf16_mma_64x64x32<uint16_t, float><<<grid, 128, 0, stream>>>(g);
  } else if (g.b_bf16) {
    gemm_bf16_mma_64x64x32<float, uint16_t><<<grid, 128, 0, stream>>>(g);
  } else {
    gemm_bf16_mma_64x64x32<float, float><<<grid, 128, 0, stream>>>(g);
  }
  TRM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trm::cuda
