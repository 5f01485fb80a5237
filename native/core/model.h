// A loaded TRM: its spec, its weights packed once for the chosen kernel table, and the
// thread pool its recursion runs on.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/infer_types.h"
#include "core/model_spec.h"
#include "core/tensor_table.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu/linear.h"

namespace trm {

// How a model stores its Linear weights and multiplies by them: fp32 throughout; bf16
// weights with bf16-rounded activations and fp32 accumulation; or int8 weights and
// activations with int32 accumulation (cpu/int8.h). Everything else (embeddings, norms,
// softmax, residuals, the carry, RoPE, q_head) stays fp32.
enum class Precision { kFp32, kBf16, kInt8 };

const char* precision_name(Precision precision);
cpu::LinearDtype linear_dtype(Precision precision);

using cpu::PackedLinear;

struct LayerWeights {
  PackedLinear qkv, o;          // attention (absent with mlp_t)
  PackedLinear t_gate_up, t_down;  // token-mixing SwiGLU (mlp_t only)
  PackedLinear gate_up, down;   // channel SwiGLU
};

struct ModelWeights {
  std::vector<float> embed_tokens;  // [vocab, hidden]
  std::vector<float> puzzle_emb;    // [num_puzzle_identifiers, puzzle_emb_ndim]
  std::vector<float> embed_pos;     // [total_len, hidden] (learned positions)
  std::vector<float> H_init, L_init;  // [hidden]
  std::vector<float> rope_cos, rope_sin;  // [total_len, head_dim]
  std::vector<LayerWeights> layers;
  PackedLinear lm_head;             // [vocab, hidden]
  std::vector<float> q_head_weight;  // [2, hidden]
  std::vector<float> q_head_bias;    // [2]
};

// RoPE cos/sin tables [total_len, head_dim] in the official float32 order of operations
// (shared by inference and the training engine).
void rope_tables(const ModelSpec& spec, std::vector<float>* cos_out, std::vector<float>* sin_out);

// Throws trm::Error(kInput / kOption) when a request does not fit the spec; shared by every
// implementation of the operator (Model here, cuda::CudaModel).
void check_infer_request(const ModelSpec& spec, const InferRequest& request);

// The spec one request runs: the model's, with the request's H_cycles / L_cycles overrides
// (running the model off its training depth).
ModelSpec spec_for_request(const ModelSpec& spec, const InferRequest& request);

class Model {
 public:
  // Checks every tensor of tensor_table(spec) (throws trm::Error(kModel)), then copies and
  // packs: the caller's buffers are not referenced afterwards.
  Model(const ModelSpec& spec, const WeightViews& weights, const cpu::KernelTable& kernels, int threads,
        Precision precision = Precision::kFp32);

  const ModelSpec& spec() const { return spec_; }
  const cpu::KernelTable& kernels() const { return kernels_; }
  int threads() const { return pool_.size(); }
  Precision precision() const { return precision_; }
  // The GEMM microkernel every Linear layer of this model runs (kernel_list.inc).
  const cpu::LinearKernel& linear_kernel() const { return linear_; }
  // Batches smaller than this run every step on the calling thread alone (Forward::step:
  // their layers are too small to split); 1 when every batch is split over the threads.
  int one_thread_below_batch() const;

  // Runs every ACT step for the batch as one call (recursion.cc). Safe to call from several
  // threads: calls on one model run one after another, each on the whole pool.
  InferResult infer(const InferRequest& request) const;

 private:
  void check_request(const InferRequest& request) const;

  ModelSpec spec_;
  const cpu::KernelTable& kernels_;
  Precision precision_;
  const cpu::LinearKernel& linear_;
  ModelWeights weights_;
  mutable ThreadPool pool_;
  const double split_min_region_flops_;  // Forward::split_min_region_flops_from_env(), read at load
  mutable std::mutex run_mutex_;
};

}  // namespace trm
