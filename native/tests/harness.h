// The op harness's bookkeeping, shared by its CPU (op_harness.cc) and CUDA (cuda_ops.cu)
// halves: deterministic inputs, the relative L2 error of an output against a float64
// reference, and one summary line per (op, backend) with the worst case and its bound.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace trm::tests {

// Uniform in [-1, 1): an LCG, so every run and every machine draws the same inputs.
inline std::vector<float> random_vec(size_t n, uint64_t seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  std::vector<float> v(n);
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>((s >> 40) * (1.0 / (1ull << 24))) * 2.f - 1.f;
  }
  return v;
}

// Written around outputs (Guarded): a kernel that writes outside its output changes one.
constexpr float kSentinel = -12345.678f;

// "3x5x7": a case's name from its sizes.
inline std::string size_name(std::initializer_list<int> dims) {
  std::string s;
  for (int d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

// A buffer of `n` values inside `guard` sentinels on each side.
struct Guarded {
  std::vector<float> all;
  size_t guard;
  Guarded(size_t n, size_t g = 16) : all(n + 2 * g, kSentinel), guard(g) {}
  float* data() { return all.data() + guard; }
  const float* data() const { return all.data() + guard; }
  bool guards_intact() const {
    for (size_t i = 0; i < guard; ++i) {
      if (all[i] != kSentinel || all[all.size() - 1 - i] != kSentinel) return false;
    }
    return true;
  }
};


class Harness {
 public:
  // One case of `group` (e.g. "gemm_f32 avx512"): fails when any output is non-finite or the
  // relative L2 error against `ref` reaches `bound`. Prints the case only when it fails.
  void check(const std::string& group, const std::string& name, const float* got, const double* ref, size_t n, double bound) {
    double num = 0, den = 0;
    bool finite = true;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(got[i])) finite = false;
      num += (got[i] - ref[i]) * (got[i] - ref[i]);
      den += ref[i] * ref[i];
    }
    const double err = std::sqrt(num / (den > 0 ? den : 1));
    record(group, name, finite && err < bound, err, bound, finite ? "" : " NON-FINITE");
  }
  // One value against its reference, the error relative to `scale` (for a sum, the sum of
  // the magnitudes of its terms: a sum that cancels to near zero is not judged by itself).
  void check_value(const std::string& group, const std::string& name, double got, double ref, double scale, double bound) {
    const double err = std::fabs(got - ref) / (scale > 0 ? scale : 1);
    const bool finite = std::isfinite(got);
    record(group, name, finite && err < bound, err, bound, finite ? "" : " NON-FINITE");
  }
  // A case whose outcome is decided by the caller (a stray write, a mismatch to the bit).
  void expect(const std::string& group, const std::string& name, bool ok, const std::string& why) {
    record(group, name, ok, 0, 0, ok ? "" : " " + why);
  }
  void skip(const std::string& what, const std::string& why) { std::printf("skip %s: %s\n", what.c_str(), why.c_str()); }

  // One line per group, then the total; returns the process exit code.
  int finish() const {
    for (const auto& [group, g] : groups_) {
      if (g.bound == 0) {
        std::printf("%-4s %-44s %5d cases\n", g.failures ? "FAIL" : "ok", group.c_str(), g.cases);
      } else {
        std::printf("%-4s %-44s %5d cases, worst rel %.2e (bound %.0e)\n", g.failures ? "FAIL" : "ok", group.c_str(), g.cases,
                    g.worst, g.bound);
      }
    }
    std::printf("%s: %d case(s), %d failure(s)\n", failures_ ? "FAILED" : "all passed", cases_, failures_);
    return failures_ ? 1 : 0;
  }

 private:
  struct Group {
    int cases = 0, failures = 0;
    double worst = 0, bound = 0;
  };
  void record(const std::string& group, const std::string& name, bool ok, double err, double bound, const std::string& note) {
    Group& g = groups_[group];
    ++g.cases;
    ++cases_;
    if (err > g.worst) g.worst = err;
    if (bound > g.bound) g.bound = bound;
    if (ok) return;
    ++g.failures;
    ++failures_;
    std::printf("FAIL %s %s: rel %.2e (bound %.0e)%s\n", group.c_str(), name.c_str(), err, bound, note.c_str());
  }

  std::map<std::string, Group> groups_;
  int cases_ = 0, failures_ = 0;
};

// The CUDA half: every native/cuda kernel at its tile edges (cuda_ops.cu). Where the binary
// was built without CUDA, or no GPU is present, it reports why and checks nothing.
void check_cuda_ops(Harness& h);

}  // namespace trm::tests
