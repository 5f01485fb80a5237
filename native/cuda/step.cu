// The network of one step as a sequence of kernels (step.cuh). Per attention layer: inject,
// qkv GEMM, attention (RoPE fused), o GEMM, residual + norm, gate_up GEMM (SwiGLU fused),
// down GEMM, residual + norm. Per mlp_t layer the token SwiGLU reads and writes [T, D]
// sample rows in place through GEMM strides (no transposes), normalised over tokens.
// UNVERIFIED ON HARDWARE.
#include "cuda/attention.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/heads.cuh"
#include "cuda/norm.cuh"
#include "cuda/step.cuh"

namespace trm::cuda {
namespace {

template <typename T>
DeviceBuffer alloc(size_t count) {
  return DeviceBuffer(count * sizeof(T));
}

// C[m][n] = A[m][k] W^T with the weight as stored ([n, k]) and activations in rows of `lda`.
GemmArgs linear(const DeviceLinear& w, const float* a, int64_t lda, float* c, int64_t ldc, int m, Epilogue epilogue) {
  GemmArgs g;
  g.m = m;
  g.n = w.n;
  g.k = w.k;
  g.a = a;
  g.lda = lda;
  g.b = w.data();
  g.b_bf16 = w.bf16;
  g.b_k = 1;
  g.b_n = w.k;
  g.c = c;
  g.ldc = ldc;
  g.epilogue = epilogue;
  return g;
}

void channel_mlp(const ModelSpec& spec, const DeviceLayer& layer, GemmMath math, const Workspace& ws, float* hidden,
                 int rows, cudaStream_t stream) {
  const int D = spec.hidden_size, I = spec.mlp_inter;
  float* act = ws.act.as<float>();
  float* tmp = ws.tmp.as<float>();
  gemm(linear(layer.gate_up, hidden, D, act, I, rows, Epilogue::kSwiGLU), math, stream);
  gemm(linear(layer.down, act, I, tmp, D, rows, Epilogue::kStore), math, stream);
  add_rmsnorm_rows(hidden, tmp, rows, D, spec.rms_norm_eps, stream);
}

void attention_layer(const ModelSpec& spec, const DeviceWeights& w, const DeviceLayer& layer, GemmMath math,
                     const Workspace& ws, float* hidden, int n, cudaStream_t stream) {
  const int D = spec.hidden_size, T = spec.total_len(), rows = n * T;
  float* qkv = ws.qkv.as<float>();
  float* attn = ws.attn.as<float>();
  float* tmp = ws.tmp.as<float>();
  gemm(linear(layer.qkv, hidden, D, qkv, 3 * D, rows, Epilogue::kStore), math, stream);
  attention(qkv, attn, n, T, D, spec.num_heads, w.rope_cos.as<float>(), w.rope_sin.as<float>(), stream);
  gemm(linear(layer.o, attn, D, tmp, D, rows, Epilogue::kStore), math, stream);
  add_rmsnorm_rows(hidden, tmp, rows, D, spec.rms_norm_eps, stream);
  channel_mlp(spec, layer, math, ws, hidden, rows, stream);
}

// The official code transposes each sample to [D, T], runs SwiGLU over tokens, adds the
// residual, RMS-normalises over tokens and transposes back. Here the weight is the GEMM's A
// and a sample's [T, D] rows its B (strides D, 1): out[j][d] = sum_t W[j][t] h[t][d].
void token_mlp(const ModelSpec& spec, const DeviceLayer& layer, GemmMath math, const Workspace& ws, float* hidden, int n,
               cudaStream_t stream) {
  const int D = spec.hidden_size, T = spec.total_len(), I = spec.mlp_t_inter;
  float* gu = ws.t_gate_up.as<float>();
  float* act = ws.t_act.as<float>();
  float* tmp = ws.tmp.as<float>();
  GemmArgs up;
  up.m = 2 * I;
  up.n = D;
  up.k = T;
  up.batch = n;
  up.a = layer.t_gate_up.data();
  up.a_bf16 = layer.t_gate_up.bf16;
  up.lda = T;
  up.a_batch = 0;
  up.b = hidden;
  up.b_k = D;
  up.b_n = 1;
  up.b_batch = static_cast<int64_t>(T) * D;
  up.c = gu;
  up.ldc = D;
  up.c_batch = static_cast<int64_t>(2) * I * D;
  gemm(up, math, stream);
  silu_mul_split(gu, act, n, I, D, stream);
  GemmArgs down;
  down.m = T;
  down.n = D;
  down.k = I;
  down.batch = n;
  down.a = layer.t_down.data();
  down.a_bf16 = layer.t_down.bf16;
  down.lda = I;
  down.b = act;
  down.b_k = D;
  down.b_n = 1;
  down.b_batch = static_cast<int64_t>(I) * D;
  down.c = tmp;
  down.ldc = D;
  down.c_batch = static_cast<int64_t>(T) * D;
  gemm(down, math, stream);
  add_rmsnorm_cols(hidden, tmp, n, T, D, spec.rms_norm_eps, stream);
}

// One L_level pass: hidden += a (+ b) before the first layer, then every layer.
void l_level(const ModelSpec& spec, const DeviceWeights& w, GemmMath math, const Workspace& ws, float* hidden,
             const float* inject_a, const float* inject_b, int n, cudaStream_t stream) {
  const int D = spec.hidden_size, T = spec.total_len();
  inject(hidden, inject_a, inject_b, static_cast<size_t>(n) * T * D, stream);
  for (const DeviceLayer& layer : w.layers) {
    if (spec.mlp_t) {
      token_mlp(spec, layer, math, ws, hidden, n, stream);
      channel_mlp(spec, layer, math, ws, hidden, n * T, stream);
    } else {
      attention_layer(spec, w, layer, math, ws, hidden, n, stream);
    }
  }
}

}  // namespace

Workspace::Workspace(const ModelSpec& spec, int cap) : capacity(cap) {
  const size_t T = spec.total_len(), D = spec.hidden_size, c = static_cast<size_t>(cap);
  const size_t S = spec.seq_len, V = spec.vocab_size;
  x = alloc<float>(c * T * D);
  z_H = alloc<float>(c * T * D);
  z_L = alloc<float>(c * T * D);
  tmp = alloc<float>(c * T * D);
  act = alloc<float>(c * T * spec.mlp_inter);
  if (spec.mlp_t) {
    t_gate_up = alloc<float>(c * 2 * spec.mlp_t_inter * D);
    t_act = alloc<float>(c * spec.mlp_t_inter * D);
  } else {
    qkv = alloc<float>(c * T * 3 * D);
    attn = alloc<float>(c * T * D);
  }
  slot_logits = alloc<float>(c * S * V);
  slot_q = alloc<float>(c * 2);
  scratch = alloc<float>(c * T * D);
  moves = alloc<int32_t>(c);
  inputs = alloc<int32_t>(c * S);
  puzzle_ids = alloc<int32_t>(c);
  slot_sample = alloc<int32_t>(c);
  predictions = alloc<int32_t>(c * S);
  logits = alloc<float>(c * S * V);
  steps = alloc<int32_t>(c);
  q_halt = alloc<float>(c);
  q_continue = alloc<float>(c);
  halt_probability = alloc<float>(c);
  confidence = alloc<float>(c);
  changed = alloc<int32_t>(c);
  unchanged_run = alloc<int32_t>(c);
  halted = alloc<uint8_t>(c);
  stopped_by = alloc<uint8_t>(c);
  params = alloc<ActParams>(1);
}

SampleState Workspace::state() const {
  return SampleState{slot_sample.as<int32_t>(), predictions.as<int32_t>(), logits.as<float>(), steps.as<int32_t>(),
                     q_halt.as<float>(), q_continue.as<float>(), halt_probability.as<float>(), confidence.as<float>(),
                     changed.as<int32_t>(), unchanged_run.as<int32_t>(), halted.as<uint8_t>(), stopped_by.as<uint8_t>()};
}

void enqueue_step(const ModelSpec& spec, const DeviceWeights& w, GemmMath math, const Workspace& ws, int n,
                  cudaStream_t stream) {
  const int D = spec.hidden_size, T = spec.total_len(), S = spec.seq_len, V = spec.vocab_size, P = spec.puzzle_emb_len;
  const ActShape shape{ws.capacity, S, V, T, D};
  float* x = ws.x.as<float>();
  float* z_H = ws.z_H.as<float>();
  float* z_L = ws.z_L.as<float>();
  act_begin_step(ws.act_params(), ws.state(), shape, stream);
  for (int h = 0; h < spec.H_cycles; ++h) {
    for (int l = 0; l < spec.L_cycles; ++l) l_level(spec, w, math, ws, z_L, z_H, x, n, stream);
    l_level(spec, w, math, ws, z_H, z_L, nullptr, n, stream);
  }
  // lm_head on z_H without the puzzle prefix, one GEMM batched over slots.
  GemmArgs lm = linear(w.lm_head, z_H + static_cast<size_t>(P) * D, D, ws.slot_logits.as<float>(), V, S, Epilogue::kStore);
  lm.batch = n;
  lm.a_batch = static_cast<int64_t>(T) * D;
  lm.c_batch = static_cast<int64_t>(S) * V;
  gemm(lm, math, stream);
  q_head(z_H, w.q_head_weight.as<float>(), w.q_head_bias.as<float>(), ws.slot_q.as<float>(), n, T, D, stream);
  act_read_heads(ws.act_params(), ws.state(), shape, ws.slot_logits.as<float>(), ws.slot_q.as<float>(), z_H, z_L, n, stream);
  act_record_trace(ws.act_params(), ws.state(), shape, stream);
}

}  // namespace trm::cuda
