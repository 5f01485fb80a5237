#include "cpu/attention.h"

#include <cmath>

namespace trm::cpu {

size_t attention_keys_size(int T, int head_dim, int nr) { return packed_linear_size(T, head_dim, nr); }
size_t attention_values_size(int T, int head_dim, int nr) { return packed_linear_size(head_dim, T, nr); }

void attention_head(const KernelTable& k, const float* qkv, size_t stride, int hidden, int T, int head_dim,
                    float* keys, float* values, float* scores, float* out, int ldo) {
  pack_linear_strided(qkv + hidden, T, head_dim, stride, 1, k.nr, keys);
  pack_linear_strided(qkv + 2 * hidden, head_dim, T, 1, stride, k.nr, values);
  k.gemm(keys, T, head_dim, qkv, static_cast<int>(stride), scores, T, T, false);
  // The scores of one head (T x T floats) stay in this thread's cache between the GEMMs.
  k.softmax_rows(scores, T, T, T, static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))));
  k.gemm(values, head_dim, T, scores, T, out, ldo, T, false);
}

}  // namespace trm::cpu
