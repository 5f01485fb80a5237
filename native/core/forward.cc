#include "core/forward.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/embed_heads.h"
#include "cpu/attention.h"
#include "cpu/dispatch.h"

namespace trm {

namespace {

// A thread carries its rows through a chain of operations in chunks whose intermediates
// (`floats_per_row` floats a row) fit in its cache, so what one operation writes the next
// reads from cache, not from L3 or memory; but every chunk streams each weight once more, so
// bigger chunks reuse the weights better. cpu::chain_chunk_bytes() picks the size per CPU
// (its L2). A chunk is a multiple of 8 rows (one register tile) at most; for_chunks spreads
// a range evenly over as few chunks as fit.
int chain_chunk_rows(int64_t floats_per_row) {
  const int64_t rows = cpu::chain_chunk_bytes() / (4 * std::max<int64_t>(1, floats_per_row));
  return static_cast<int>(std::max<int64_t>(8, rows / 8 * 8));
}

// fn(c0, c1) over [r0, r1) in chunks of at most `chunk` rows, of even size.
template <typename Fn>
void for_chunks(int r0, int r1, int chunk, Fn&& fn) {
  const int rows = r1 - r0;
  if (rows <= 0) return;
  const int chunks = (rows + chunk - 1) / chunk;
  for (int c = 0, c0 = r0; c < chunks; ++c) {
    const int c1 = c0 + rows / chunks + (c < rows % chunks ? 1 : 0);
    fn(c0, c1);
    c0 = c1;
  }
}

// hidden[i] += a[i] (+ b[i]): the official code forms (z_H + x) first, then adds it to z_L,
// so the sum is rounded in that order.
inline void inject_rows(float* hidden, const float* a, const float* b, size_t begin, size_t end) {
  if (a == nullptr) return;
  if (b == nullptr) {
    for (size_t i = begin; i < end; ++i) hidden[i] += a[i];
  } else {
    for (size_t i = begin; i < end; ++i) hidden[i] += a[i] + b[i];
  }
}

// Multiply-adds x 2 of one layer on one sample: its GEMMs, and attention's QK^T and PV.
double layer_flops(const ModelSpec& spec) {
  const double T = spec.total_len(), D = spec.hidden_size;
  const double mix = spec.mlp_t ? 3.0 * 2 * D * T * spec.mlp_t_inter : 2 * T * D * 4 * D + 4 * T * T * D;
  return mix + 3.0 * 2 * T * D * spec.mlp_inter;
}

// The parallel regions of a split layer. By rows (l_level_split): for attention qkv + RoPE,
// attention, then o + norm + the SwiGLU + norm; for mlp_t the token SwiGLU, then the channel
// one. By columns (layer_by_columns): for attention qkv + attention, o, norm, gate_up +
// SiLU, down, norm; for mlp_t the token SwiGLU, gate_up + SiLU, down, norm.
int regions_per_layer(const ModelSpec& spec, bool by_columns) {
  if (by_columns) return spec.mlp_t ? 4 : 6;
  return spec.mlp_t ? 2 : 3;
}

}  // namespace

bool Forward::runs_on_one_thread(const ModelSpec& spec, int threads, int n, double split_min_region_flops) {
  // The split split_by_columns would choose, taking the weights as ones that can be split
  // by columns.
  const bool by_columns = too_few_rows_per_thread(n * spec.total_len(), threads);
  return threads > 1 && n < threads && n * layer_flops(spec) < split_min_region_flops * regions_per_layer(spec, by_columns);
}

double Forward::split_min_region_flops_from_env() {
  const char* text = std::getenv("TRM_SPLIT_MIN_REGION_FLOPS");
  if (text == nullptr) return kSplitMinRegionFlops;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end != text && *end == '\0' && v >= 0 && std::isfinite(v)) return v;
  std::fprintf(stderr, "trm-node: TRM_SPLIT_MIN_REGION_FLOPS=%s is not a number >= 0; using %.0f\n", text,
               kSplitMinRegionFlops);
  return kSplitMinRegionFlops;
}

Forward::Forward(const ModelSpec& spec, const ModelWeights& weights, const cpu::KernelTable& kernels,
                 ThreadPool& pool, int capacity, double split_min_region_flops)
    : spec_(spec),
      weights_(weights),
      k_(kernels),
      pool_(pool),
      T_(spec.total_len()),
      D_(spec.hidden_size),
      carry_size_(static_cast<size_t>(spec.total_len()) * spec.hidden_size),
      logits_size_(static_cast<size_t>(spec.seq_len) * spec.vocab_size),
      parts_(pool.size()),
      qkv_chunk_(chain_chunk_rows(3 * spec.hidden_size)),
      // No chunk is longer than the rows there are, so the per-thread chunk buffers are sized
      // by the smaller: for a small call an L2-sized chunk buffer per thread was most of the
      // workspace, allocated afresh (page-faulted) by every call, which cost a 2-thread
      // sudoku-4x4 answer 140 page faults and 1 ms more than a 1-thread one (Intel f6 m207).
      // Capping changes no chunk: a range shorter than both is one chunk either way.
      mlp_chunk_(std::min(chain_chunk_rows(3 * spec.mlp_inter), capacity * T_)),
      token_chunk_(std::min(chain_chunk_rows(3 * spec.mlp_t_inter + spec.total_len()), capacity * D_)),
      split_min_region_flops_(split_min_region_flops) {
  const size_t rows = static_cast<size_t>(capacity) * T_, D = D_;
  x_.resize(rows * D);
  z_H_.resize(rows * D);
  z_L_.resize(rows * D);
  // Chain intermediates are per thread, one chunk each: every chunk reuses the same lines. A
  // call that runs on one thread (step()) needs one thread's.
  const bool one_thread = runs_on_one_thread(spec, parts_, capacity, split_min_region_flops);
  const size_t slots = one_thread ? 1 : static_cast<size_t>(parts_);
  gate_up_.resize(slots * mlp_chunk_ * 2 * spec.mlp_inter);
  act_.resize(slots * mlp_chunk_ * spec.mlp_inter);
  if (spec.mlp_t) {
    transposed_.resize(slots * token_chunk_ * T_);
    t_gate_up_.resize(slots * token_chunk_ * 2 * spec.mlp_t_inter);
    t_act_.resize(slots * token_chunk_ * spec.mlp_t_inter);
  } else {
    const int hd = spec.head_dim();
    qkv_.resize(rows * 3 * D);
    attn_.resize(rows * D);
    keys_size_ = cpu::attention_keys_size(T_, hd, k_.nr);
    values_size_ = cpu::attention_values_size(T_, hd, k_.nr);
    scores_size_ = cpu::attention_scores_size(T_);
    keys_.resize(slots * keys_size_);
    values_.resize(slots * values_size_);
    scores_.resize(slots * scores_size_);
  }
  if (!one_thread && parts_ > 1) {
    // layer_by_columns: each thread's gate/up values for its features (at most an even share
    // of the gate panels plus one panel of the widest kernel, nr 32), every row's SiLU product.
    const size_t col_rows = std::min<size_t>(rows, static_cast<size_t>(kMinRowsPerPart) * parts_);
    col_part_floats_ = col_rows * 2 * (static_cast<size_t>(spec.mlp_inter) / parts_ + 32);
    col_gate_up_.resize(parts_ * col_part_floats_);
    col_act_.resize(col_rows * spec.mlp_inter);
  }
  logits_.resize(static_cast<size_t>(capacity) * logits_size_);
  q_.resize(static_cast<size_t>(capacity) * 2);
}

template <typename Fn>
void Forward::for_row_parts(int rows, Fn&& fn) {
  // Whole register tiles per thread where possible; tiny inputs stay on one thread.
  const int parts = std::max(1, std::min(parts_, rows / kMinRowsPerPart));
  pool_.parallel_for(parts, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int r0 = static_cast<int>(static_cast<int64_t>(rows) * p / parts);
      const int r1 = static_cast<int>(static_cast<int64_t>(rows) * (p + 1) / parts);
      fn(r0, r1, static_cast<int>(p));
    }
  });
}

template <typename Fn>
void Forward::for_column_parts(const PackedLinear& w, int n, Fn&& fn) {
  const int nr = w.impl->layout.nr, panels = (n + nr - 1) / nr;
  const int parts = std::max(1, std::min(parts_, panels));
  pool_.parallel_for(parts, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int j0 = static_cast<int>(panels * p / parts) * nr;
      const int j1 = std::min(n, static_cast<int>(panels * (p + 1) / parts) * nr);
      fn(j0, j1, static_cast<int>(p));
    }
  });
}

template <typename Fn>
void Forward::for_column_parts(const PackedLinear& w, Fn&& fn) {
  for_column_parts(w, w.n, [&](int j0, int j1, int) { fn(j0, j1); });
}

void Forward::embed(int slot, const int32_t* tokens, int32_t puzzle_identifier) {
  const EmbeddingTables tables{weights_.embed_tokens.data(), weights_.puzzle_emb.data(), weights_.embed_pos.data()};
  embed_sample(spec_, tables, tokens, puzzle_identifier, x_.data() + slot * carry_size_);
}

void Forward::set_carry(int slot, const float* z_H, const float* z_L) {
  float* h = z_H_.data() + slot * carry_size_;
  float* l = z_L_.data() + slot * carry_size_;
  if (z_H != nullptr) {
    std::memcpy(h, z_H, carry_size_ * sizeof(float));
    std::memcpy(l, z_L, carry_size_ * sizeof(float));
    return;
  }
  initial_carry(weights_.H_init.data(), weights_.L_init.data(), D_, static_cast<size_t>(T_), h, l);
}

void Forward::move_slot(int from, int to) {
  if (from == to) return;
  const size_t bytes = carry_size_ * sizeof(float);
  std::memcpy(x_.data() + to * carry_size_, x_.data() + from * carry_size_, bytes);
  std::memcpy(z_H_.data() + to * carry_size_, z_H_.data() + from * carry_size_, bytes);
  std::memcpy(z_L_.data() + to * carry_size_, z_L_.data() + from * carry_size_, bytes);
}

// Two ways to spread a step over the threads. With at least as many samples as threads
// (and an even split, or enough samples that one extra costs little), each thread owns a
// group of whole samples and runs the entire step on them alone: no barrier at all, and the
// rows of its samples stay in its own cache. Otherwise (batch 1, say) every layer is split
// by rows and by (sample, head), with a barrier between its stages.
//
// A step whose layers are small (batch 1 of a small model) runs on the calling thread
// alone: split, each of its parallel regions (two to six a layer, a few microseconds of
// work each) pays a hand-off and a wait that cost more than the half of the work it saves.
void Forward::step(int n) {
  if (runs_on_one_thread(spec_, parts_, n, split_min_region_flops_)) {
    for (int h = 0; h < spec_.H_cycles; ++h) {
      for (int l = 0; l < spec_.L_cycles; ++l) l_level_samples(z_L_.data(), z_H_.data(), x_.data(), 0, n, 0);
      l_level_samples(z_H_.data(), z_L_.data(), nullptr, 0, n, 0);
    }
    return;
  }
  const bool by_samples = parts_ > 1 && n >= parts_ && (n % parts_ == 0 || n >= 4 * parts_);
  if (by_samples) {
    pool_.parallel_for(parts_, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const int s0 = static_cast<int>(n * p / parts_), s1 = static_cast<int>(n * (p + 1) / parts_);
        for (int h = 0; h < spec_.H_cycles; ++h) {
          for (int l = 0; l < spec_.L_cycles; ++l) l_level_samples(z_L_.data(), z_H_.data(), x_.data(), s0, s1, static_cast<int>(p));
          l_level_samples(z_H_.data(), z_L_.data(), nullptr, s0, s1, static_cast<int>(p));
        }
      }
    });
    return;
  }
  for (int h = 0; h < spec_.H_cycles; ++h) {
    for (int l = 0; l < spec_.L_cycles; ++l) l_level_split(z_L_.data(), z_H_.data(), x_.data(), n);
    l_level_split(z_H_.data(), z_L_.data(), nullptr, n);
  }
}

// Rows too few to give every thread a register tile of them (kMinRowsPerPart) would leave
// threads idle in a split by rows; split by output features instead, each thread takes its
// share of each weight's panels, past all the rows. Only some kernels can start at any panel
// (cpu::linear_splits_columns: fp32, bf16 on fp32 FMAs, the x86 int8 driver); the others
// (scalar int8, bf16 pairs: vdpbf16ps, AMX) split by rows.
bool Forward::split_by_columns(int rows) const {
  if (parts_ <= 1 || !too_few_rows_per_thread(rows, parts_) || weights_.layers.empty()) return false;
  const PackedLinear& gate_up = weights_.layers[0].gate_up;
  // layer_by_columns splits the gate half at panels and needs the up half to start at one:
  // always so for the official width (a multiple of 256) and the panel widths (1, 16, 32).
  return cpu::linear_splits_columns(gate_up) && spec_.mlp_inter % gate_up.impl->layout.nr == 0;
}

// Samples [s0, s1) through every layer on the calling thread (scratch slot `part`).
void Forward::l_level_samples(float* hidden, const float* inject_a, const float* inject_b, int s0, int s1, int part) {
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    // The injection enters before the first layer only.
    const float* a = i == 0 ? inject_a : nullptr;
    const float* b = i == 0 ? inject_b : nullptr;
    const LayerWeights& layer = weights_.layers[i];
    if (spec_.mlp_t) {
      token_mlp_rows(layer, hidden, a, b, s0 * D_, s1 * D_, part);
      channel_rows(layer, hidden, s0 * T_, s1 * T_, part);
    } else {
      qkv_rows(layer, hidden, a, b, s0 * T_, s1 * T_);
      for (int s = s0; s < s1; ++s) {
        for (int head = 0; head < spec_.num_heads; ++head) attention_unit(s, head, part);
      }
      output_rows(layer, hidden, s0 * T_, s1 * T_, part);
    }
  }
}

// All n samples through every layer, each stage split over the threads.
void Forward::l_level_split(float* hidden, const float* inject_a, const float* inject_b, int n) {
  const bool by_columns = split_by_columns(n * T_);
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const float* a = i == 0 ? inject_a : nullptr;
    const float* b = i == 0 ? inject_b : nullptr;
    const LayerWeights& layer = weights_.layers[i];
    const int rows = n * T_;
    if (by_columns) {
      layer_by_columns(layer, hidden, a, b, n);
      continue;
    }
    if (spec_.mlp_t) {
      for_row_parts(n * D_, [&](int r0, int r1, int part) { token_mlp_rows(layer, hidden, a, b, r0, r1, part); });
      for_row_parts(rows, [&](int r0, int r1, int part) { channel_rows(layer, hidden, r0, r1, part); });
      continue;
    }
    for_row_parts(rows, [&](int r0, int r1, int) { qkv_rows(layer, hidden, a, b, r0, r1); });
    attention_units(n);
    for_row_parts(rows, [&](int r0, int r1, int part) { output_rows(layer, hidden, r0, r1, part); });
  }
}

// Every (sample, head) of slots [0, n), spread over the threads.
void Forward::attention_units(int n) {
  const int heads = spec_.num_heads;
  const int64_t units = static_cast<int64_t>(n) * heads;
  const int parts = static_cast<int>(std::min<int64_t>(parts_, units));
  pool_.parallel_for(parts, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) {
      for (int64_t unit = units * p / parts; unit < units * (p + 1) / parts; ++unit) {
        attention_unit(static_cast<int>(unit / heads), static_cast<int>(unit % heads), static_cast<int>(p));
      }
    }
  });
}

// One layer on all n samples with its GEMMs split by output features (split_by_columns): a
// thread's heads through qkv, RoPE and attention, its gate and up features through the SiLU,
// its share of the o and down features; the injection and the norms split by rows. A barrier
// after each stage, since a norm needs every feature of its row and a GEMM every feature of
// its input.
void Forward::layer_by_columns(const LayerWeights& layer, float* hidden, const float* inject_a, const float* inject_b,
                               int n) {
  const int rows = n * T_;
  if (spec_.mlp_t) {
    for_row_parts(n * D_, [&](int r0, int r1, int part) { token_mlp_rows(layer, hidden, inject_a, inject_b, r0, r1, part); });
  } else {
    if (inject_a != nullptr) {
      for_row_parts(rows, [&](int r0, int r1, int) {
        inject_rows(hidden, inject_a, inject_b, static_cast<size_t>(r0) * D_, static_cast<size_t>(r1) * D_);
      });
    }
    const int heads = spec_.num_heads, hd = spec_.head_dim();
    if (hd % layer.qkv.impl->layout.nr == 0) {
      // Each thread takes whole heads: their q, k and v features (each starting at a
      // panel), RoPE on them and their attention, with no barrier between and nothing
      // crossing to the other core before the output projection. Side by side against qkv
      // split by panels, then RoPE by rows, then attention by heads (Intel f6 m207, 2
      // threads, batch 1, a noisy host, when every batch-1 step took this path): 1.09-1.45x
      // a Sudoku attention step, 1.08-1.18x long, 1.34x tiny (whole answer), 1.36x Sudoku
      // attention in int8.
      const int parts = std::min(parts_, heads);
      pool_.parallel_for(parts, [&](int64_t pb, int64_t pe) {
        for (int64_t p = pb; p < pe; ++p) {
          const int h0 = static_cast<int>(heads * p / parts), h1 = static_cast<int>(heads * (p + 1) / parts);
          cpu::ColumnRange qkv[3];  // q, k, v: the rows rounded or quantized once for all three
          for (int part = 0; part < 3; ++part) {
            const int j0 = part * D_ + h0 * hd, j1 = part * D_ + h1 * hd;
            qkv[part] = {j0, j1, qkv_.data() + j0};
          }
          cpu::run_linear_column_ranges(layer.qkv, qkv, 3, hidden, D_, 3 * D_, rows, false);
          if (spec_.pos_encoding == PosEncoding::kRope) rope_rows(0, rows, h0, h1);
          for (int s = 0; s < n; ++s) {
            for (int head = h0; head < h1; ++head) attention_unit(s, head, static_cast<int>(p));
          }
        }
      });
    } else {
      for_column_parts(layer.qkv, [&](int j0, int j1) {
        cpu::run_linear_columns(layer.qkv, j0, j1, hidden, D_, qkv_.data() + j0, 3 * D_, rows, false);
      });
      if (spec_.pos_encoding == PosEncoding::kRope) for_row_parts(rows, [&](int r0, int r1, int) { rope_rows(r0, r1); });
      attention_units(n);
    }
    for_column_parts(layer.o, [&](int j0, int j1) {
      cpu::run_linear_columns(layer.o, j0, j1, attn_.data(), D_, hidden + j0, D_, rows, true);  // h + attn(h)
    });
    for_row_parts(rows, [&](int r0, int r1, int) {
      k_.rmsnorm_rows(hidden + static_cast<size_t>(r0) * D_, r1 - r0, D_, D_, spec_.rms_norm_eps);
    });
  }
  const int inter = spec_.mlp_inter;
  float* act = col_act_.data();
  // Each thread takes a range of gate features and the same range of up features (the up
  // half starts at a panel: split_by_columns checks), so it forms its part of
  // silu(gate) * up itself: no barrier and no gate/up values crossing to the other core
  // before the SiLU. Side by side against a gate_up split then a SiLU split by rows (Intel
  // f6 m207, 2 threads, batch 1, when every batch-1 step took this path): 1.18x (Sudoku
  // attention), 1.28x (mlp_t), 1.20x (long) a step in fp32, 1.49x in int8.
  for_column_parts(layer.gate_up, inter, [&](int j0, int j1, int part) {
    const int width = j1 - j0;
    float* gu = col_gate_up_.data() + static_cast<size_t>(part) * col_part_floats_;
    const cpu::ColumnRange gate_and_up[2] = {{j0, j1, gu}, {inter + j0, inter + j1, gu + width}};
    cpu::run_linear_column_ranges(layer.gate_up, gate_and_up, 2, hidden, D_, 2 * width, rows, false);
    for (int r = 0; r < rows; ++r) {
      k_.silu_mul(gu + static_cast<size_t>(r) * 2 * width, 1, width, act + static_cast<size_t>(r) * inter + j0);
    }
  });
  for_column_parts(layer.down, [&](int j0, int j1) {
    cpu::run_linear_columns(layer.down, j0, j1, act, inter, hidden + j0, D_, rows, true);  // h + mlp(h)
  });
  for_row_parts(rows, [&](int r0, int r1, int) {
    k_.rmsnorm_rows(hidden + static_cast<size_t>(r0) * D_, r1 - r0, D_, D_, spec_.rms_norm_eps);
  });
}


// Attention layer, stage 1 on token rows [r0, r1): the injection, the qkv projection, RoPE.
void Forward::qkv_rows(const LayerWeights& layer, float* hidden, const float* inject_a, const float* inject_b, int r0, int r1) {
  for_chunks(r0, r1, qkv_chunk_, [&](int c0, int c1) {
    inject_rows(hidden, inject_a, inject_b, static_cast<size_t>(c0) * D_, static_cast<size_t>(c1) * D_);
    gemm(layer.qkv, hidden + static_cast<size_t>(c0) * D_, D_, qkv_.data() + static_cast<size_t>(c0) * 3 * D_, 3 * D_,
         c1 - c0, false);
    if (spec_.pos_encoding == PosEncoding::kRope) rope_rows(c0, c1);
  });
}

// Attention layer, stage 3 on token rows [r0, r1) (stage 2 is attention_unit): the output
// projection + residual + norm (post-norm), then the channel SwiGLU + residual + norm.
void Forward::output_rows(const LayerWeights& layer, float* hidden, int r0, int r1, int part) {
  for_chunks(r0, r1, mlp_chunk_, [&](int c0, int c1) {
    float* h = hidden + static_cast<size_t>(c0) * D_;
    gemm(layer.o, attn_.data() + static_cast<size_t>(c0) * D_, D_, h, D_, c1 - c0, true);  // h + attn(h)
    k_.rmsnorm_rows(h, c1 - c0, D_, D_, spec_.rms_norm_eps);
    channel_mlp_rows(layer, hidden, c0, c1, part);
  });
}

// The channel SwiGLU of an mlp_t layer on token rows [r0, r1).
void Forward::channel_rows(const LayerWeights& layer, float* hidden, int r0, int r1, int part) {
  for_chunks(r0, r1, mlp_chunk_, [&](int c0, int c1) { channel_mlp_rows(layer, hidden, c0, c1, part); });
}

void Forward::channel_mlp_rows(const LayerWeights& layer, float* hidden, int r0, int r1, int part) {
  const int m = r1 - r0, inter = spec_.mlp_inter;
  float* h = hidden + static_cast<size_t>(r0) * D_;
  float* gu = gate_up_.data() + static_cast<size_t>(part) * mlp_chunk_ * 2 * inter;
  float* act = act_.data() + static_cast<size_t>(part) * mlp_chunk_ * inter;
  swiglu(layer.gate_up, h, D_, gu, act, m);
  gemm(layer.down, act, inter, h, D_, m, true);  // h + mlp(h)
  k_.rmsnorm_rows(h, m, D_, D_, spec_.rms_norm_eps);
}

// mlp_t mixes tokens: the official code transposes each sample to [hidden, tokens], runs a
// SwiGLU over the token axis, adds the residual and RMS-normalises over the token axis too,
// then transposes back. Every transposed row is one (sample, channel), independent of the
// others, so this runs on the transposed rows [part_r0, part_r1) alone: transpose them in,
// the whole token SwiGLU, transpose back. The channel SwiGLU follows (channel_rows).
void Forward::token_mlp_rows(const LayerWeights& layer, float* hidden, const float* inject_a,
                             const float* inject_b, int part_r0, int part_r1, int part) {
  const int inter = spec_.mlp_t_inter;
  {
    for_chunks(part_r0, part_r1, token_chunk_, [&](int r0, int r1) {
      // This thread's chunk scratch: transposed row r (of the chunk [r0, r1)) at tr + (r - r0) * T_.
      float* tr = transposed_.data() + static_cast<size_t>(part) * token_chunk_ * T_;
      // Channels go in blocks of up to 16 (one cache line of a token row), so every line of
      // `hidden` is read once rather than once per channel.
      for (int r = r0; r < r1;) {
        const int d0 = r % D_, width = std::min({16, D_ - d0, r1 - r});
        const size_t base = static_cast<size_t>(r / D_) * carry_size_ + d0;
        k_.transpose_rows(hidden + base, inject_a != nullptr ? inject_a + base : nullptr,
                          inject_b != nullptr ? inject_b + base : nullptr, D_, T_, width,
                          tr + static_cast<size_t>(r - r0) * T_, T_);
        r += width;
      }
      const int m = r1 - r0;
      float* rows = tr;
      float* gu = t_gate_up_.data() + static_cast<size_t>(part) * token_chunk_ * 2 * inter;
      float* act = t_act_.data() + static_cast<size_t>(part) * token_chunk_ * inter;
      swiglu(layer.t_gate_up, rows, T_, gu, act, m);
      gemm(layer.t_down, act, inter, rows, T_, m, true);
      k_.rmsnorm_rows(rows, m, T_, T_, spec_.rms_norm_eps);
      for (int r = r0; r < r1;) {
        const int d0 = r % D_, width = std::min({16, D_ - d0, r1 - r});
        const size_t base = static_cast<size_t>(r / D_) * carry_size_ + d0;
        k_.transpose_rows(tr + static_cast<size_t>(r - r0) * T_, nullptr, nullptr, T_, width, T_, hidden + base, D_);
        r += width;
      }
    });
  }
}

// RoPE with the rotate_half convention: the pair (i, i + half) of each head turns by the
// angle of frequency i.
void Forward::rope_rows(int r0, int r1, int h0, int h1) {
  const int hd = spec_.head_dim(), heads = spec_.num_heads;
  if (h1 < 0) h1 = heads;
  for (int r = r0; r < r1; ++r) {
    const int t = r % T_;
    const float* cos = weights_.rope_cos.data() + static_cast<size_t>(t) * hd;
    const float* sin = weights_.rope_sin.data() + static_cast<size_t>(t) * hd;
    float* row = qkv_.data() + static_cast<size_t>(r) * 3 * D_;
    // q heads then k heads: 2 * heads vectors of head_dim, contiguous; heads [h0, h1) of each.
    k_.rope(row + static_cast<size_t>(h0) * hd, h1 - h0, hd, cos, sin);
    k_.rope(row + static_cast<size_t>(heads + h0) * hd, h1 - h0, hd, cos, sin);
  }
}

// Attention for one (sample, head) on this thread's scratch (cpu/attention.h). Always fp32,
// whatever the model's precision.
void Forward::attention_unit(int sample, int head, int part) {
  const int hd = spec_.head_dim();
  const size_t stride = 3 * static_cast<size_t>(D_);
  const float* base = qkv_.data() + static_cast<size_t>(sample) * T_ * stride + static_cast<size_t>(head) * hd;
  float* out = attn_.data() + static_cast<size_t>(sample) * T_ * D_ + static_cast<size_t>(head) * hd;
  // Every layer's weights share one kernel; a bf16 model on AMX runs attention on tiles too,
  // where that pays (attention_min_len).
  const cpu::LinearImpl& impl = *weights_.layers[0].qkv.impl;
  if (impl.attention_head != nullptr && T_ >= impl.attention_min_len) {
    impl.attention_head(base, stride, D_, T_, hd, k_.softmax_rows, out, D_);
    return;
  }
  cpu::attention_head(k_, base, stride, D_, T_, hd, keys_.data() + part * keys_size_, values_.data() + part * values_size_,
                      scores_.data() + part * scores_size_, out, D_);
}

void Forward::heads(int n) {
  const int V = spec_.vocab_size, S = spec_.seq_len;
  const PackedLinear& lm = weights_.lm_head;
  pool_.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      const float* z = z_H_.data() + s * carry_size_;
      gemm(lm, token_rows(spec_, z), D_, logits_.data() + s * logits_size_, V, S, false);
      q_head(k_, z, weights_.q_head_weight.data(), weights_.q_head_bias.data(), D_, &q_.data()[2 * s], &q_.data()[2 * s + 1]);
    }
  });
}

void Forward::gemm(const PackedLinear& w, const float* a, int lda, float* c, int ldc, int m, bool accumulate) const {
  cpu::run_linear(w, a, lda, c, ldc, m, accumulate);
}

// silu(gate) * up of a gate_up weight into act (m x inter, inter = gate_up.n / 2): in the
// GEMM's epilogue where its kernel fuses it (AMX: the gate/up products, twice act's size,
// are never written), else the GEMM into gu (m x 2 * inter) and the table's silu_mul.
// The same bits either way.
void Forward::swiglu(const PackedLinear& gate_up, const float* a, int lda, float* gu, float* act, int m) const {
  const int inter = gate_up.n / 2;
  if (cpu::linear_fuses_swiglu(gate_up)) {
    cpu::run_linear_swiglu(gate_up, a, lda, act, inter, m);
    return;
  }
  gemm(gate_up, a, lda, gu, 2 * inter, m, false);
  k_.silu_mul(gu, m, inter, act);
}

}  // namespace trm
