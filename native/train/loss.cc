#include "train/loss.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace trm::train {
namespace {

// The official stablemax s(x): 1 / (1 - x + eps) below 0, x + 1 above, in float64.
constexpr double kStablemaxEps = 1e-30;

inline double stablemax_s(double x) { return x < 0 ? 1.0 / (1.0 - x + kStablemaxEps) : x + 1.0; }
// ds/dx: the derivative of the branch torch.where selects.
inline double stablemax_ds(double x) {
  if (x < 0) {
    const double d = 1.0 - x + kStablemaxEps;
    return 1.0 / (d * d);
  }
  return 1.0;
}

}  // namespace

LossParts act_loss(const float* logits, const int32_t* labels, const float* q_halt, int batch, int seq_len, int vocab,
                   float* d_logits, float* d_q_halt, int32_t* predictions, uint8_t* seq_correct) {
  LossParts loss;
  for (int b = 0; b < batch; ++b) {
    const size_t row0 = static_cast<size_t>(b) * seq_len;
    int labelled = 0, correct = 0;
    for (int t = 0; t < seq_len; ++t) {
      const float* x = logits + (row0 + t) * vocab;
      int best = 0;
      for (int v = 1; v < vocab; ++v) {
        if (x[v] > x[best]) best = v;
      }
      predictions[row0 + t] = best;
      const int32_t label = labels[row0 + t];
      if (label != kIgnoreLabel) {
        ++labelled;
        if (best == label) ++correct;
      }
    }
    const double divisor = labelled > 0 ? labelled : 1;
    double sample_lm = 0.0;
    for (int t = 0; t < seq_len; ++t) {
      const float* x = logits + (row0 + t) * vocab;
      float* g = d_logits + (row0 + t) * vocab;
      const int32_t label = labels[row0 + t];
      if (label == kIgnoreLabel) {
        for (int v = 0; v < vocab; ++v) g[v] = 0.f;
        continue;
      }
      double sum = 0.0;
      for (int v = 0; v < vocab; ++v) sum += stablemax_s(x[v]);
      const double s_label = stablemax_s(x[label]);
      sample_lm -= std::log(s_label / sum);
      // d(-log(s_y / sum))/dx_v = ds_v / sum - [v == y] ds_y / s_y, scaled by 1 / divisor.
      for (int v = 0; v < vocab; ++v) {
        double grad = stablemax_ds(x[v]) / sum;
        if (v == label) grad -= stablemax_ds(x[v]) / s_label;
        g[v] = static_cast<float>(grad / divisor);
      }
    }
    loss.lm += sample_lm / divisor;

    const bool is_correct = correct == labelled;
    seq_correct[b] = is_correct ? 1 : 0;
    // BCE with logits, the numerically stable form: max(x, 0) - x y + log(1 + exp(-|x|)).
    const double x = q_halt[b], y = is_correct ? 1.0 : 0.0;
    loss.q_halt += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
    const double sigmoid = 1.0 / (1.0 + std::exp(-x));
    d_q_halt[b] = static_cast<float>(0.5 * (sigmoid - y));
  }
  loss.total = loss.lm + 0.5 * loss.q_halt;
  return loss;
}

}  // namespace trm::train
