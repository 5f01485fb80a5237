// The architecture of one TRM, as the official config describes it, with the sizes the
// official code derives from it already resolved (by the TypeScript config parser).
#pragma once

namespace trm {

enum class PosEncoding { kNone, kRope, kLearned };

struct ModelSpec {
  int seq_len = 0;
  int vocab_size = 0;
  int hidden_size = 0;
  int num_heads = 0;
  int H_cycles = 0;
  int L_cycles = 0;
  int L_layers = 0;
  int halt_max_steps = 0;
  PosEncoding pos_encoding = PosEncoding::kNone;
  bool mlp_t = false;
  int puzzle_emb_ndim = 0;
  int puzzle_emb_len = 0;  // resolved: the prefix length actually used
  int num_puzzle_identifiers = 0;
  float rms_norm_eps = 1e-5f;
  double rope_theta = 10000.0;
  int mlp_inter = 0;    // SwiGLU width over the hidden axis
  int mlp_t_inter = 0;  // SwiGLU width over the token axis (mlp_t only)

  int total_len() const { return seq_len + puzzle_emb_len; }
  int head_dim() const { return hidden_size / num_heads; }
};

// Throws trm::Error(kModel) when the spec is inconsistent.
void validate_spec(const ModelSpec& spec);

}  // namespace trm
