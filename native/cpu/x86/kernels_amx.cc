// The AMX GEMMs of the "amx" table: bf16 (tdpbf16ps, fp32 accumulation) and int8 (tdpbssd,
// int32 accumulation, int8.h's scheme). Built with -mamx-tile -mamx-bf16 -mamx-int8 and the
// AVX-512 flags; dispatch (kernel_list.inc) uses them only when CPUID reports AMX-TILE and
// AMX-BF16 (AMX-INT8 for int8) and Linux granted this process the tile data.
//
// Checked on hardware (Intel Xeon family 6 model 167 under KVM, with AMX, 2026-12-02) and, on
// CPUs without AMX, against an emulation of the tile instructions (native/tests/
// stand_in_check.cc: every tile edge, two threads, whole models, the fused SwiGLU).
//
// Tiles (palette 1): C0..C3 (tmm0-3) a 32 x 32 block of fp32 / int32 results, A0/A1
// (tmm4-5) 16 rows x 64 bytes of activations each, B0/B1 (tmm6-7) 16 rows x 64 bytes of
// weights each. One k step: 4 tile products of 16 x 16 x 32 (bf16) or 16 x 16 x 64 (int8).
//
// Weights are packed once at load in the tiles' "VNNI" layout: panels of 16 output features,
// each k step a 1 KB block of 16 rows (k pairs / quads) x 16 features x 2 bf16 / 4 int8,
// k zero-padded to 32 (bf16) or 64 (int8). Activations are rounded (bf16) or quantized (int8)
// 16 lanes at a time (avx512_rows.h) into a per-thread scratch laid out tile by tile: each
// A tile's 16 rows x 64 bytes contiguous, so a tile load reads 1 KB in a row rather than 16
// lines 1 KB or more apart; rows padded to 32 (two A tiles) and k to the tile's, zeros in
// the padding.
// Results go from the C tiles to one of two per-thread 32 x 32 scratch blocks and through the
// epilogue (dequantize, accumulate, the n and m tails) with AVX-512 masks, run inside the
// next block's tile loop (amx_gemm): nothing outside c is touched. A SwiGLU's gate_up weight can instead pair each gate panel with its up panel and
// form silu(gate) * up there (run_swiglu): the products, twice the result's size, are never
// written, and no separate SiLU pass reads them back.
//
// The tile configuration is loaded at the start of every call (ldtilecfg, on whichever pool
// thread runs it) and released at its end, so no thread carries tile state between calls.
#include "avx512_intrinsics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../attention.h"
#include "../int8.h"
#include "../kernels.h"
#include "../linear.h"
#include "amx_tiles.h"
#include "avx512_math.h"
#include "avx512_rows.h"
#include "lane_masks.h"

namespace trm::cpu {
namespace {

constexpr int kPanel = 16;  // output features per B tile

// Per call, from thread_scratch (linear.h): the prepared activations (64-byte aligned rows),
// int8's row scales, and the 32 x 32 block the C tiles are stored to.
struct AmxScratch {
  uint8_t* a;
  float* sx;
  float* c;
};

AmxScratch amx_scratch(size_t bytes, int rows) {
  return {static_cast<uint8_t*>(thread_scratch(0, bytes)), static_cast<float*>(thread_scratch(1, rows * sizeof(float))),
          static_cast<float*>(thread_scratch(2, 2 * 32 * 32 * sizeof(float)))};
}

// Rows per block: the block's prepared activations kept to ~256 KB (they stay in L2 while
// every weight panel streams past); a multiple of 32 (two A tiles).
int amx_row_block(int row_bytes) {
  const int rows = (262144 / std::max(1, row_bytes)) / 32 * 32;
  return std::max(32, rows);
}

// Rows [r0, r1) of one 32-row x (16 or 32)-column block's C tiles, as fp32 values in scratch
// (row stride 32 floats), through the epilogue into c (the block's first row): cols < valid.
template <typename Scale>
void epilogue(const float* block, float* c, int ldc, int r0, int r1, int col, int valid, bool accumulate, Scale&& scale) {
  const __mmask16 m0 = first_lanes_avx512(valid), m1 = first_lanes_avx512(valid - 16);
  for (int i = r0; i < r1; ++i) {
    float* ci = c + static_cast<size_t>(i) * ldc;
    __m512 y0 = scale(i, col, _mm512_load_ps(block + i * 32));
    if (accumulate) y0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), y0);
    _mm512_mask_storeu_ps(ci, m0, y0);
    if (valid <= 16) continue;  // the second panel's tiles were neither computed nor stored
    __m512 y1 = scale(i, col + 16, _mm512_load_ps(block + i * 32 + 16));
    if (accumulate) y1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), y1);
    _mm512_mask_storeu_ps(ci + 16, m1, y1);
  }
}

// Rows [r0, r1) of a SwiGLU block's C tiles (a gate panel's 16 columns, then its up
// panel's) through silu(gate) * up into act, 16 features each. `scale(i, col, v)` as
// epilogue's, for output feature col (gate_col or up_col).
template <typename Scale>
void swiglu_epilogue(const float* block, float* act, int ld_act, int r0, int r1, int gate_col, int up_col, Scale&& scale) {
  for (int i = r0; i < r1; ++i) {
    const __m512 g = scale(i, gate_col, _mm512_load_ps(block + i * 32));
    const __m512 u = scale(i, up_col, _mm512_load_ps(block + i * 32 + 16));
    _mm512_storeu_ps(act + static_cast<size_t>(i) * ld_act, silu_mul_f32_avx512_v(g, u));
  }
}

// One 32 x 32 block over `ksteps` k steps, or its top 16 rows (`two_row_tiles` false: the
// rows run out there, so the second A tile would multiply padding), or its first 16 columns
// (`two_panels` false). a: the block's first A tile (tile-major: each k step's 16 x 64 bytes
// contiguous, the next 16 rows' tiles `ksteps` KB further); b0/b1: the panels' first k step,
// each k step 1 KB further. Kind 0: bf16, 1: int8. `drain(r0, r1)` runs the previous
// block's epilogue a few rows per k step (amx_gemm says why).
template <int Kind, typename Drain>
void tile_block(const uint8_t* a, const uint8_t* b0, const uint8_t* b1, bool two_row_tiles, bool two_panels,
                int ksteps, float* out, Drain&& drain) {
  _tile_zero(0);
  if (two_panels) _tile_zero(1);
  if (two_row_tiles) _tile_zero(2);
  if (two_row_tiles && two_panels) _tile_zero(3);
  const uint8_t* a1 = a + static_cast<size_t>(ksteps) * kTileRows * kTileBytes;
  const int drain_rows = (32 + ksteps - 1) / ksteps;  // all 32 by the last k step
  for (int s = 0; s < ksteps; ++s) {
    drain(std::min(32, s * drain_rows), std::min(32, (s + 1) * drain_rows));
    const size_t off = static_cast<size_t>(s) * kTileRows * kTileBytes;
    // The tile numbers are written out: the instructions encode their registers, so the
    // intrinsics (inline asm that spells each argument into the register name) take literals.
    // A tiles are used for this block only, B tiles by every row group after it: the
    // streaming load (TILELOADDT1) keeps A from evicting B out of L1. Side by side against
    // plain loads on Xeon f6 m167: 1.18-1.21x a 227 x 3072 x 512 bf16 GEMM; on 1536-deep
    // products, int8 and whole steps, 0.94-1.03x either way, within what two builds of the
    // same code differed by there (4%).
    _tile_stream_loadd(4, a + off, kTileBytes);
    if (two_row_tiles) _tile_stream_loadd(5, a1 + off, kTileBytes);
    _tile_loadd(6, b0 + off, kTileBytes);
    if (Kind == 0) {
      _tile_dpbf16ps(0, 4, 6);
      if (two_row_tiles) _tile_dpbf16ps(2, 5, 6);
    } else {
      _tile_dpbssd(0, 4, 6);
      if (two_row_tiles) _tile_dpbssd(2, 5, 6);
    }
    if (two_panels) {
      _tile_loadd(7, b1 + off, kTileBytes);
      if (Kind == 0) {
        _tile_dpbf16ps(1, 4, 7);
        if (two_row_tiles) _tile_dpbf16ps(3, 5, 7);
      } else {
        _tile_dpbssd(1, 4, 7);
        if (two_row_tiles) _tile_dpbssd(3, 5, 7);
      }
    }
  }
  // out: 32 rows x 32 floats; tiles 0/1 the top 16 rows, 2/3 the bottom ones (only the
  // tiles computed are stored; the epilogue reads no others).
  _tile_stored(0, out, 128);
  if (two_panels) _tile_stored(1, out + 16, 128);
  if (two_row_tiles) _tile_stored(2, out + 16 * 32, 128);
  if (two_row_tiles && two_panels) _tile_stored(3, out + 16 * 32 + 16, 128);
}

// The rows of an activation block for a depth of `ksteps` k steps.
int amx_block_rows(int ksteps) { return amx_row_block(ksteps * kTileBytes); }

// Where a product goes: c (ldc, `accumulate`) for the plain GEMM; for a SwiGLU (act set),
// silu(gate) * up into act (ld_act), gate panel p paired with up panel p + inter / 16.
struct AmxOutput {
  float* c;
  int ldc;
  bool accumulate;
  float* act;
  int ld_act;
};

// The epilogue of a block whose C tiles are in scratch, run a few rows at a time inside the
// next block's k loop: measured on Xeon f6 m167, a block's 32 rows of vector stores into c,
// issued between two blocks' tile work, held the next block's tile loads back (a 256 x
// 3072 x 512 bf16 product: 1.2 TFLOP/s with the epilogue between blocks, 1.5 interleaved,
// 1.9 with no stores to c). Row r of the block is row `row0 + r` of the product.
struct PendingBlock {
  const float* tiles = nullptr;  // nullptr: nothing pending
  int row0 = 0, rows_valid = 0, col = 0, valid = 0;
};

// Both GEMMs (and attention's products): each row block prepared into scratch, tile by tile
// (`prepare(row, row_in_block, dst)` writes one row's 64-byte pieces a tile apart), then every
// pair of weight panels against it, 32 rows at a time; `scale_for(row, col, v)` turns a C
// tile row's 16 values into results (int8: dequantized).
template <int Kind, typename Prepare, typename Scale>
void amx_gemm(const AmxScratch& scratch, const uint8_t* weights, int n, int ksteps, int m, const AmxOutput& out,
              Prepare&& prepare, Scale&& scale_for) {
  if (m <= 0 || n <= 0) return;
  const size_t group_bytes = static_cast<size_t>(ksteps) * kTileRows * kTileBytes;  // 16 rows' tiles
  const int block = amx_block_rows(ksteps);
  uint8_t* a = scratch.a;
  const int panels = (n + kPanel - 1) / kPanel;
  const bool swiglu = out.act != nullptr;
  const int up_panels = panels / 2;  // a SwiGLU's up half starts here (n / 2 a multiple of kPanel)
  PendingBlock pending;
  const auto drain = [&](int r0, int r1) {
    r1 = std::min(r1, pending.rows_valid);
    if (pending.tiles == nullptr || r0 >= r1) return;
    const auto scale = [&](int i, int j, __m512 v) { return scale_for(pending.row0 + i, j, v); };
    if (swiglu) {
      swiglu_epilogue(pending.tiles, out.act + static_cast<size_t>(pending.row0) * out.ld_act + pending.col, out.ld_act, r0,
                      r1, pending.col, up_panels * kPanel + pending.col, scale);
    } else {
      epilogue(pending.tiles, out.c + static_cast<size_t>(pending.row0) * out.ldc + pending.col, out.ldc, r0, r1,
               pending.col, pending.valid, out.accumulate, scale);
    }
  };
  const auto flush = [&] {
    drain(0, 32);
    pending.tiles = nullptr;
  };
  int buffer = 0;  // which of scratch.c's two 32 x 32 blocks the next tiles go to
  load_tile_config();
  for (int i0 = 0; i0 < m; i0 += block) {
    const int rows = std::min(block, m - i0);
    const int padded = (rows + 31) / 32 * 32;
    // Rows past `rows` in the last groups are zeros (the A tiles multiply them; nothing reads
    // their results).
    const int full_groups = rows / kTileRows;
    std::memset(a + full_groups * group_bytes, 0, (padded / kTileRows - full_groups) * group_bytes);
    for (int i = 0; i < rows; ++i)
      prepare(i0 + i, i, a + (i / kTileRows) * group_bytes + (i % kTileRows) * kTileBytes);
    for (int p = 0; p < (swiglu ? up_panels : panels); p += swiglu ? 1 : 2) {
      const bool two = swiglu || p + 1 < panels;
      const int col = p * kPanel, valid = std::min(2 * kPanel, n - col);
      const uint8_t* b0 = weights + p * group_bytes;
      const uint8_t* b1 = swiglu ? b0 + up_panels * group_bytes : two ? b0 + group_bytes : b0;
      for (int r = 0; r < rows; r += 32) {
        float* tiles = scratch.c + buffer * 32 * 32;
        tile_block<Kind>(a + (r / kTileRows) * group_bytes, b0, b1, rows - r > kTileRows, two, ksteps, tiles, drain);
        pending = {tiles, i0 + r, std::min(32, rows - r), col, valid};
        buffer ^= 1;
      }
    }
    // The next row block's prepare rewrites int8's row scales, which the epilogue reads.
    flush();
  }
  _tile_release();
}

// A prepared row's k padding (bytes `used` .. the end of its last 64-byte piece) zeroed:
// the A tile multiplies it against the weights' zero padding.
void zero_row_tail(uint8_t* row, int used) {
  const int tail = used % kTileBytes;
  if (tail) std::memset(row + static_cast<size_t>(used / kTileBytes) * kTileRows * kTileBytes + tail, 0, kTileBytes - tail);
}

void bf16_amx(const PackedLinear& w, const float* a, int lda, int m, const AmxOutput& out) {
  const int ksteps = w.kp / kTileRows;  // w.kp is a multiple of 16 pairs (kp_multiple)
  const int block = amx_block_rows(ksteps);
  const AmxScratch scratch = amx_scratch(static_cast<size_t>(block) * ksteps * kTileBytes, block);
  amx_gemm<0>(
      scratch, reinterpret_cast<const uint8_t*>(w.bf16.data()), w.n, ksteps, m, out,
      [&](int row, int, uint8_t* dst) {
        bf16_row_avx512(a + static_cast<size_t>(row) * lda, w.k, dst, kTileRows * kTileBytes);
        zero_row_tail(dst, 2 * w.k);
      },
      [](int, int, __m512 v) { return v; });
}

void int8_amx(const PackedLinear& packed, const float* a, int lda, int m, const AmxOutput& out) {
  const Int8Weights& w = packed.int8;
  const int ksteps = w.kg / kTileRows;  // w.kg is a multiple of 16 quads (kg_multiple)
  const int block = amx_block_rows(ksteps);
  const AmxScratch scratch = amx_scratch(static_cast<size_t>(block) * ksteps * kTileBytes, block);
  int base = 0;  // the first row of the block the scales in scratch.sx belong to
  amx_gemm<1>(
      scratch, reinterpret_cast<const uint8_t*>(w.data.data()), w.n, ksteps, m, out,
      [&](int row, int in_block, uint8_t* dst) {
        base = row - in_block;
        scratch.sx[in_block] = quantize_row_avx512(a + static_cast<size_t>(row) * lda, w.k, 0, dst, kTileRows * kTileBytes);
        zero_row_tail(dst, w.k);
      },
      // The C tile holds int32 sums; dequantized exactly as gemm_int8_scalar does.
      [&](int row, int col, __m512 bits) {
        const __mmask16 mk = first_lanes_avx512(w.n - col);
        const __m512 sw = _mm512_maskz_loadu_ps(mk, w.scales.data() + col);
        const __m512 acc = _mm512_cvtepi32_ps(_mm512_castps_si512(bits));
        return _mm512_mul_ps(acc, _mm512_mul_ps(_mm512_set1_ps(scratch.sx[row - base]), sw));
      });
}

// Attention of one head on tiles (LinearImpl::attention_head), for bf16 models. Per call, the
// keys are packed as QK^T's weight (panels of 16 keys, k steps of 32 head dims: each tile row
// one pair of dims for 16 keys, gathered from the keys rounded to bf16) and the values as
// PV's (panels of 16 head dims, k steps of 32 keys: each tile row one pair of keys for 16
// dims, interleaved from two rows of values), padding zero. Then, a block of query rows at a
// time, the tile GEMM rounds the queries to bf16 for QK^T (fp32 scores), the table's softmax
// runs on the fp32 scores, and the tile GEMM rounds the probabilities to bf16 for PV. The
// fp32 path (cpu/attention.h) is the same except for those roundings.
// Side by side with the fp32 path (Xeon f6 m167, bf16 models, per-call ratios): 1.29-1.37x
// a long step (400 positions), 1.02-1.07x a Sudoku attention step (97), 0.95-0.96x tiny (32,
// where the per-call packing costs more than the products save). So from 64 positions.
constexpr int kAttentionMinLen = 64;

void attention_head_bf16_amx(const float* qkv, size_t stride, int hidden, int T, int head_dim,
                             void (*softmax_rows)(float* x, int rows, int cols, int ld, float scale), float* out, int ldo) {
  const int qk_steps = (head_dim + 31) / 32, key_panels = (T + kPanel - 1) / kPanel;
  const int pv_steps = (T + 31) / 32, dim_panels = (head_dim + kPanel - 1) / kPanel;
  const size_t tile = kTileRows * kTileBytes;
  const size_t keys_bytes = static_cast<size_t>(key_panels) * qk_steps * tile;
  const size_t values_bytes = static_cast<size_t>(dim_panels) * pv_steps * tile;
  const size_t key_row_bytes = static_cast<size_t>(qk_steps) * kTileBytes;  // one key, bf16, dims padded
  const int block = attention_query_block_rows(T, 32);
  uint8_t* mem = static_cast<uint8_t*>(
      thread_scratch(3, keys_bytes + values_bytes + static_cast<size_t>(T) * key_row_bytes +
                            static_cast<size_t>(block) * T * sizeof(float)));
  uint8_t* keys = mem;
  uint8_t* values = keys + keys_bytes;
  uint8_t* key_rows = values + values_bytes;
  float* scores = reinterpret_cast<float*>(key_rows + static_cast<size_t>(T) * key_row_bytes);
  for (int j = 0; j < T; ++j) {
    uint8_t* row = key_rows + j * key_row_bytes;
    bf16_row_avx512(qkv + static_cast<size_t>(j) * stride + hidden, head_dim, row);
    std::memset(row + 2 * head_dim, 0, key_row_bytes - 2 * head_dim);
  }
  // Keys: tile row q of (panel p, step s) holds dims pair 16 s + q (one dword) of keys 16 p ..
  // 16 p + 15.
  const int pair_stride = static_cast<int>(key_row_bytes / 4);  // dwords per key row
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int p = 0; p < key_panels; ++p) {
    const __mmask16 live = first_lanes_avx512(T - p * kPanel);
    const __m512i key_index =
        _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(p * kPanel)), _mm512_set1_epi32(pair_stride));
    for (int s = 0; s < qk_steps; ++s) {
      for (int q = 0; q < kTileRows; ++q) {
        const __m512i index = _mm512_add_epi32(key_index, _mm512_set1_epi32(s * kTileRows + q));
        const __m512i pairs = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, index, key_rows, 4);
        _mm512_store_si512(keys + (static_cast<size_t>(p) * qk_steps + s) * tile + q * kTileBytes, pairs);
      }
    }
  }
  // Values: tile row q of (panel p, step s) holds keys 32 s + 2 q and the next, dims 16 p ..
  // 16 p + 15, as bf16 pairs (the first key in the low half).
  for (int p = 0; p < dim_panels; ++p) {
    const __mmask16 dims = first_lanes_avx512(head_dim - p * kPanel);
    const float* v = qkv + 2 * static_cast<size_t>(hidden) + p * kPanel;
    const auto value_row = [&](int j) {  // key j's dims of this panel, rounded to bf16; zeros past T
      return j < T ? bf16_values_avx512(_mm512_maskz_loadu_ps(dims, v + static_cast<size_t>(j) * stride)) : _mm512_setzero_ps();
    };
    for (int s = 0; s < pv_steps; ++s) {
      for (int q = 0; q < kTileRows; ++q) {
        const int j = 32 * s + 2 * q;
        const __m512 lo = value_row(j), hi = value_row(j + 1);
        const __m512i pair = _mm512_or_si512(_mm512_srli_epi32(_mm512_castps_si512(lo), 16), _mm512_castps_si512(hi));
        _mm512_store_si512(values + (static_cast<size_t>(p) * pv_steps + s) * tile + q * kTileBytes, pair);
      }
    }
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const auto none = [](int, int, __m512 v) { return v; };
  // One scratch for both products: the larger of their prepared-row blocks.
  const int qk_block = amx_block_rows(qk_steps), pv_block = amx_block_rows(pv_steps);
  const AmxScratch gemm_scratch = amx_scratch(
      std::max(static_cast<size_t>(qk_block) * qk_steps, static_cast<size_t>(pv_block) * pv_steps) * kTileBytes,
      std::max(qk_block, pv_block));
  for (int t0 = 0; t0 < T; t0 += block) {
    const int rows = std::min(block, T - t0);
    amx_gemm<0>(
        gemm_scratch, keys, T, qk_steps, rows, {scores, T, false, nullptr, 0},
        [&](int row, int, uint8_t* dst) {
          bf16_row_avx512(qkv + static_cast<size_t>(t0 + row) * stride, head_dim, dst, tile);
          zero_row_tail(dst, 2 * head_dim);
        },
        none);
    softmax_rows(scores, rows, T, T, scale);
    amx_gemm<0>(
        gemm_scratch, values, head_dim, pv_steps, rows, {out + static_cast<size_t>(t0) * ldo, ldo, false, nullptr, 0},
        [&](int row, int, uint8_t* dst) {
          bf16_row_avx512(scores + static_cast<size_t>(row) * T, T, dst, tile);
          zero_row_tail(dst, 2 * T);
        },
        none);
  }
}

void gemm_bf16_amx_32x32(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  bf16_amx(w, a, lda, m, {c, ldc, accumulate, nullptr, 0});
}

void swiglu_bf16_amx_32x32(const PackedLinear& w, const float* a, int lda, float* act, int ld_act, int m) {
  bf16_amx(w, a, lda, m, {nullptr, 0, false, act, ld_act});
}

void gemm_int8_amx_32x32(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) {
  int8_amx(w, a, lda, m, {c, ldc, accumulate, nullptr, 0});
}

void swiglu_int8_amx_32x32(const PackedLinear& w, const float* a, int lda, float* act, int ld_act, int m) {
  int8_amx(w, a, lda, m, {nullptr, 0, false, act, ld_act});
}

}  // namespace

extern const LinearImpl gemm_bf16_amx_32x32_impl{bf16_pairs_layout(kPanel, kTileRows), gemm_bf16_amx_32x32, nullptr,
                                                 nullptr, nullptr, swiglu_bf16_amx_32x32, attention_head_bf16_amx,
                                                 kAttentionMinLen};
extern const LinearImpl gemm_int8_amx_32x32_impl{int8_layout({kPanel, 4, kTileRows, false}), gemm_int8_amx_32x32, nullptr,
                                                 nullptr, nullptr, swiglu_int8_amx_32x32};

}  // namespace trm::cpu
