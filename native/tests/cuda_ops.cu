// The op harness's CUDA half (harness.h): every native/cuda kernel against a float64 CPU
// reference, at sizes equal to, one below, one above and multiples of its tiles. Outputs are
// poisoned (NaN) before each run, so an unwritten element fails. Without a GPU it reports
// why and checks nothing. UNVERIFIED ON HARDWARE until its first GPU run.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/attention.cuh"
#include "cuda/common.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/gemm.cuh"
#include "cuda/norm.cuh"
#include "tests/harness.h"

namespace trm::tests {
namespace {

using namespace trm::cuda;

Harness* harness = nullptr;

template <typename T>
DeviceBuffer up(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T) + 16);
  TRM_CUDA_CHECK(cudaMemcpy(b.as<void>(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return b;
}

std::vector<float> down(const DeviceBuffer& b, size_t n) {
  std::vector<float> v(n);
  TRM_CUDA_CHECK(cudaDeviceSynchronize());
  TRM_CUDA_CHECK(cudaMemcpy(v.data(), b.as<void>(), n * sizeof(float), cudaMemcpyDeviceToHost));
  return v;
}

// Cases are grouped by the kernel, the first word of their name.
void report(const std::string& name, const std::vector<float>& got, const std::vector<double>& ref, double bound) {
  harness->check("cuda " + name.substr(0, name.find(' ')), name, got.data(), ref.data(), ref.size(), bound);
}

float silu(double g) { return static_cast<float>(g / (1.0 + std::exp(-g))); }


// ---- gemm ----------------------------------------------------------------------------------
void check_gemm(int M, int N, int K, int batch, bool b_as_weight, GemmMath math, bool a_bf16, bool b_bf16, Epilogue epi) {
  const bool bf = math == GemmMath::kBf16;
  std::vector<float> A = random_vec(static_cast<size_t>(batch) * M * K, 1 + M), B = random_vec(static_cast<size_t>(batch) * K * N, 2 + N);
  const int64_t b_k = b_as_weight ? 1 : N, b_n = b_as_weight ? K : 1;
  const int out_cols = epi == Epilogue::kSwiGLU ? N / 2 : N;
  std::vector<float> C0 = random_vec(static_cast<size_t>(batch) * M * out_cols, 3);
  std::vector<double> ref(C0.size());
  for (int z = 0; z < batch; ++z) {
    for (int m = 0; m < M; ++m) {
      std::vector<double> row(N);
      for (int n = 0; n < N; ++n) {
        double s = 0;
        for (int k = 0; k < K; ++k) {
          float a = A[(static_cast<size_t>(z) * M + m) * K + k];
          float b = B[static_cast<size_t>(z) * K * N + k * b_k + n * b_n];
          if (bf) { a = round_to_bf16(a); b = round_to_bf16(b); }
          s += static_cast<double>(a) * b;
        }
        row[n] = s;
      }
      for (int c = 0; c < out_cols; ++c) {
        const size_t i = (static_cast<size_t>(z) * M + m) * out_cols + c;
        if (epi == Epilogue::kSwiGLU) ref[i] = silu(row[2 * c]) * row[2 * c + 1];
        else if (epi == Epilogue::kAccumulate) ref[i] = C0[i] + row[c];
        else ref[i] = row[c];
      }
    }
  }
  std::vector<uint16_t> A16(A.size()), B16(B.size());
  for (size_t i = 0; i < A.size(); ++i) A16[i] = bf16_from_f32(A[i]);
  for (size_t i = 0; i < B.size(); ++i) B16[i] = bf16_from_f32(B[i]);
  DeviceBuffer dA = a_bf16 ? up(A16) : up(A), dB = b_bf16 ? up(B16) : up(B);
  DeviceBuffer dC(C0.size() * sizeof(float));
  if (epi == Epilogue::kAccumulate) {
    TRM_CUDA_CHECK(cudaMemcpy(dC.as<void>(), C0.data(), C0.size() * 4, cudaMemcpyHostToDevice));
  } else {
    TRM_CUDA_CHECK(cudaMemset(dC.as<void>(), 0xff, C0.size() * 4));  // NaN: unwritten outputs fail
  }
  GemmArgs g;
  g.m = M; g.n = N; g.k = K; g.batch = batch;
  g.a = dA.as<void>(); g.a_bf16 = a_bf16; g.lda = K; g.a_batch = static_cast<int64_t>(M) * K;
  g.b = dB.as<void>(); g.b_bf16 = b_bf16; g.b_k = b_k; g.b_n = b_n; g.b_batch = static_cast<int64_t>(K) * N;
  g.c = dC.as<float>(); g.ldc = out_cols; g.c_batch = static_cast<int64_t>(M) * out_cols;
  g.epilogue = epi;
  gemm(g, math, nullptr);
  const char* epi_name = epi == Epilogue::kSwiGLU ? "swiglu" : epi == Epilogue::kAccumulate ? "accumulate" : "store";
  char name[160];
  std::snprintf(name, sizeof(name), "gemm %s %dx%dx%d batch %d B %s A%s B%s %s", bf ? "bf16-mma" : "f32-simt", M, N, K, batch,
                b_as_weight ? "weight" : "rowmajor", a_bf16 ? "16" : "32", b_bf16 ? "16" : "32", epi_name);
  report(name, down(dC, C0.size()), ref, 1e-5);
}

// ---- attention -------------------------------------------------------------------------------
void check_attention(int n, int T, int heads, int hd, bool rope) {
  const int D = heads * hd;
  std::vector<float> qkv = random_vec(static_cast<size_t>(n) * T * 3 * D, 7 + T);
  std::vector<float> cos(static_cast<size_t>(T) * hd), sin(cos.size());
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < hd / 2; ++i) {
      const double a = t * std::pow(10000.0, -2.0 * i / hd);
      cos[t * hd + i] = cos[t * hd + hd / 2 + i] = static_cast<float>(std::cos(a));
      sin[t * hd + i] = sin[t * hd + hd / 2 + i] = static_cast<float>(std::sin(a));
    }
  }
  auto rot = [&](const float* x, int t, int d) -> double {
    if (!rope) return x[d];
    const int half = hd / 2;
    return d < half ? static_cast<double>(x[d]) * cos[t * hd + d] - static_cast<double>(x[d + half]) * sin[t * hd + d]
                    : static_cast<double>(x[d]) * cos[t * hd + d] + static_cast<double>(x[d - half]) * sin[t * hd + d];
  };
  std::vector<double> ref(static_cast<size_t>(n) * T * D);
  for (int s = 0; s < n; ++s) {
    for (int h = 0; h < heads; ++h) {
      for (int i = 0; i < T; ++i) {
        const float* q = &qkv[(static_cast<size_t>(s) * T + i) * 3 * D + h * hd];
        std::vector<double> p(T);
        double mx = -1e300;
        for (int j = 0; j < T; ++j) {
          const float* k = &qkv[(static_cast<size_t>(s) * T + j) * 3 * D + D + h * hd];
          double dot = 0;
          for (int d = 0; d < hd; ++d) dot += rot(q, i, d) * rot(k, j, d);
          p[j] = dot / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int j = 0; j < T; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (int d = 0; d < hd; ++d) {
          double o = 0;
          for (int j = 0; j < T; ++j) o += p[j] * qkv[(static_cast<size_t>(s) * T + j) * 3 * D + 2 * D + h * hd + d];
          ref[(static_cast<size_t>(s) * T + i) * D + h * hd + d] = o / sum;
        }
      }
    }
  }
  DeviceBuffer dqkv = up(qkv), dcos = up(cos), dsin = up(sin), dout(ref.size() * 4);
  TRM_CUDA_CHECK(cudaMemset(dout.as<void>(), 0xff, ref.size() * 4));
  attention(dqkv.as<float>(), dout.as<float>(), n, T, D, heads, rope ? dcos.as<float>() : nullptr, rope ? dsin.as<float>() : nullptr, nullptr);
  char name[160];
  std::snprintf(name, sizeof(name), "attention n %d T %d heads %d hd %d%s", n, T, heads, hd, rope ? " rope" : "");
  report(name, down(dout, ref.size()), ref, 1e-5);
}

// ---- norms and elementwise -------------------------------------------------------------------
void check_norms(int n, int T, int D) {
  const float eps = 1e-5f;
  std::vector<float> h = random_vec(static_cast<size_t>(n) * T * D, 11), y = random_vec(h.size(), 12);
  std::vector<double> rows(h.size()), cols(h.size());
  for (int r = 0; r < n * T; ++r) {
    double ss = 0;
    for (int d = 0; d < D; ++d) { const float v = h[r * D + d] + y[r * D + d]; ss += static_cast<double>(v) * v; }
    const double sc = 1.0 / std::sqrt(ss / D + eps);
    for (int d = 0; d < D; ++d) rows[r * D + d] = static_cast<double>(h[r * D + d] + y[r * D + d]) * sc;
  }
  for (int s = 0; s < n; ++s) {
    for (int d = 0; d < D; ++d) {
      double ss = 0;
      for (int t = 0; t < T; ++t) { const size_t i = (static_cast<size_t>(s) * T + t) * D + d; const float v = h[i] + y[i]; ss += static_cast<double>(v) * v; }
      const double sc = 1.0 / std::sqrt(ss / T + eps);
      for (int t = 0; t < T; ++t) { const size_t i = (static_cast<size_t>(s) * T + t) * D + d; cols[i] = static_cast<double>(h[i] + y[i]) * sc; }
    }
  }
  DeviceBuffer dh = up(h), dy = up(y), dh2 = up(h);
  add_rmsnorm_rows(dh.as<float>(), dy.as<float>(), n * T, D, eps, nullptr);
  add_rmsnorm_cols(dh2.as<float>(), dy.as<float>(), n, T, D, eps, nullptr);
  char name[160];
  std::snprintf(name, sizeof(name), "add_rmsnorm_rows %d x %d", n * T, D);
  report(name, down(dh, h.size()), rows, 1e-6);
  std::snprintf(name, sizeof(name), "add_rmsnorm_cols n %d T %d D %d", n, T, D);
  report(name, down(dh2, h.size()), cols, 1e-6);

  const int I = 7;
  std::vector<float> gu = random_vec(static_cast<size_t>(n) * 2 * I * D, 13);
  std::vector<double> act(static_cast<size_t>(n) * I * D);
  for (int s = 0; s < n; ++s)
    for (int j = 0; j < I * D; ++j) act[s * I * D + j] = silu(gu[s * 2 * I * D + j]) * gu[s * 2 * I * D + I * D + j];
  DeviceBuffer dgu = up(gu), dact(act.size() * 4);
  silu_mul_split(dgu.as<float>(), dact.as<float>(), n, I, D, nullptr);
  std::snprintf(name, sizeof(name), "silu_mul_split n %d inter %d D %d", n, I, D);
  report(name, down(dact, act.size()), act, 1e-6);

  std::vector<double> inj(h.size());
  for (size_t i = 0; i < h.size(); ++i) inj[i] = h[i] + (y[i] + h[i]);
  DeviceBuffer dh3 = up(h), da = up(y), db = up(h);
  inject(dh3.as<float>(), da.as<float>(), db.as<float>(), h.size(), nullptr);
  report("inject h += a + b", down(dh3, h.size()), inj, 1e-6);
}

}  // namespace

void check_cuda_ops(Harness& h) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    h.skip("CUDA ops", "no CUDA device");
    return;
  }
  harness = &h;
  cudaDeviceProp prop;
  TRM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("op harness: CUDA on %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  attention_configure();
  const int sizes[][3] = {{1, 2, 1}, {63, 64, 65}, {64, 64, 64}, {65, 66, 31}, {130, 200, 96}, {97, 22, 512}, {256, 1536, 512}};
  for (const auto& s : sizes) {
    for (bool weight : {true, false}) {
      for (Epilogue epi : {Epilogue::kStore, Epilogue::kAccumulate, Epilogue::kSwiGLU}) {
        check_gemm(s[0], s[1], s[2], 1, weight, GemmMath::kFp32, false, false, epi);
        check_gemm(s[0], s[1], s[2], 1, weight, GemmMath::kBf16, false, true, epi);
        check_gemm(s[0], s[1], s[2], 1, weight, GemmMath::kBf16, true, false, epi);
      }
    }
  }
  check_gemm(97, 64, 97, 3, false, GemmMath::kFp32, false, false, Epilogue::kStore);
  check_gemm(97, 64, 97, 3, false, GemmMath::kBf16, true, false, Epilogue::kStore);
  check_gemm(81, 11, 512, 3, true, GemmMath::kBf16, false, true, Epilogue::kStore);
  for (int T : {1, 31, 32, 33, 97}) {
    for (int hd : {16, 64, 128}) {
      check_attention(2, T, 2, hd, true);
      check_attention(1, T, 3, hd, false);
    }
  }
  check_norms(3, 97, 512);
  check_norms(2, 33, 96);
}

}  // namespace trm::tests
