// The official training loss of one ACT step (models/losses.py, ACTLossHead with the
// stablemax cross-entropy and no_ACT_continue):
//   lm     = sum_b [ sum over labelled positions of -log stablemax(logits)[label] ] / max(labelled_b, 1)
//   q_halt = sum_b BCE-with-logits(q_halt_b, seq_correct_b)
//   total  = lm + 0.5 * q_halt
// with seq_correct_b = (number of labelled positions predicted right == number labelled),
// so a sample with no labelled position counts as correct, as in the official code.
#pragma once

#include <cstdint>

namespace trm::train {

constexpr int32_t kIgnoreLabel = -100;

struct LossParts {
  double total = 0.0;
  double lm = 0.0;
  double q_halt = 0.0;
};

// logits [B, S, V] and labels [B, S]; q_halt [B]. Writes dL/dlogits [B, S, V] (computed
// in float64 as the official loss, then rounded), dL/dq_halt [B], the argmax predictions
// [B, S] (first maximum wins, as torch.argmax) and seq_correct [B]. Rows of different
// samples are independent, so the caller may split the batch across threads.
LossParts act_loss(const float* logits, const int32_t* labels, const float* q_halt, int batch, int seq_len, int vocab,
                   float* d_logits, float* d_q_halt, int32_t* predictions, uint8_t* seq_correct);

}  // namespace trm::train
