#include "cpu/attention.h"

#include <algorithm>
#include <cmath>

namespace trm::cpu {
namespace {

// The fp32 path's blocks are multiples of 8 (the widest row tile). Side by side on one
// long-workload head (T 400, head_dim 64, Intel f6 m207, 1 thread): 1.03x the whole T x T
// matrix at 24-96 rows a block, the same bits.
constexpr int kBlockMultiple = 8;

}  // namespace

int attention_query_block_rows(int T, int multiple) {
  const int rows = 16384 / std::max(1, T) / multiple * multiple;
  return std::max(1, std::min(T, std::max(multiple, rows)));
}

size_t attention_keys_size(int T, int head_dim, int nr) { return packed_linear_size(T, head_dim, nr); }
size_t attention_values_size(int T, int head_dim, int nr) { return packed_linear_size(head_dim, T, nr); }
size_t attention_scores_size(int T) { return static_cast<size_t>(attention_query_block_rows(T, kBlockMultiple)) * T; }

void attention_head(const KernelTable& k, const float* qkv, size_t stride, int hidden, int T, int head_dim,
                    float* keys, float* values, float* scores, float* out, int ldo) {
  k.pack_rows(qkv + hidden, T, head_dim, stride, keys);
  pack_linear_strided(qkv + 2 * hidden, head_dim, T, 1, stride, k.nr, values);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  // A block of query rows at a time: each output row is the same sums in the same order
  // whatever the block, so blocking changes no bit.
  const int block = attention_query_block_rows(T, kBlockMultiple);
  for (int t0 = 0; t0 < T; t0 += block) {
    const int rows = std::min(block, T - t0);
    k.gemm(keys, T, head_dim, qkv + static_cast<size_t>(t0) * stride, static_cast<int>(stride), scores, T, rows, false);
    k.softmax_rows(scores, rows, T, T, scale);
    k.gemm(values, head_dim, T, scores, T, out + static_cast<size_t>(t0) * ldo, ldo, rows, false);
  }
}

}  // namespace trm::cpu
