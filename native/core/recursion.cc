// The ACT loop: every supervision step of a batch in one call, with per-sample stopping
// (the rules of core/act.h). Stopped samples leave the workspace at once (the rest are
// packed to the front), so they stop costing compute; their results and trace entries are
// frozen at their final step.
#include <algorithm>
#include <cstring>

#include "core/act.h"
#include "core/errors.h"
#include "core/forward.h"
#include "core/model.h"

namespace trm {

InferResult Model::infer(const InferRequest& r) const {
  check_request(r);
  std::lock_guard<std::mutex> lock(run_mutex_);

  const int B = r.batch, S = spec_.seq_len, V = spec_.vocab_size;
  const act::StoppingRules& rules = r.stopping;
  const ModelSpec run_spec = spec_for_request(spec_, r);
  Forward net(run_spec, weights_, kernels_, pool_, B, split_min_region_flops_);
  const size_t carry_size = net.carry_size(), logits_size = net.logits_size();

  InferResult out;
  out.batch = B;
  out.predictions.assign(r.inputs.begin(), r.inputs.end());  // "changed" at step 1 counts against the input
  out.logits.assign(static_cast<size_t>(B) * logits_size, 0.f);
  out.steps.assign(B, 0);
  out.q_halt.assign(B, 0.f);
  out.q_continue.assign(B, 0.f);
  out.stopped_by.assign(B, act::kRunning);
  if (r.return_carry) {
    out.carry_z_H.assign(static_cast<size_t>(B) * carry_size, 0.f);
    out.carry_z_L.assign(static_cast<size_t>(B) * carry_size, 0.f);
  }
  if (r.trace) {
    const size_t records = static_cast<size_t>(std::min(rules.max_steps, 4096)) * B;
    out.trace_q_halt.reserve(records);
    out.trace_q_continue.reserve(records);
    out.trace_halt_probability.reserve(records);
    out.trace_halted.reserve(records);
    out.trace_changed.reserve(records);
    out.trace_confidence.reserve(records);
    out.trace_stopped_by.reserve(records);
  }

  // slot_sample[j]: which sample sits in workspace slot j; the first `active` slots run.
  std::vector<int> slot_sample(B);
  std::vector<float> halt_probability(B, 0.f), confidence(B, 0.f);
  for (int b = 0; b < B; ++b) {
    slot_sample[b] = b;
    const int32_t puzzle = r.puzzle_identifiers.empty() ? 0 : r.puzzle_identifiers[b];
    net.embed(b, r.inputs.data() + static_cast<size_t>(b) * S, puzzle);
    net.set_carry(b, r.carry_z_H.empty() ? nullptr : r.carry_z_H.data() + b * carry_size,
                  r.carry_z_L.empty() ? nullptr : r.carry_z_L.data() + b * carry_size);
  }

  std::vector<int32_t> changed(B, 0), unchanged_run(B, 0);
  std::vector<uint8_t> halted(B, 0);
  int active = B;
  for (int step = 1; active > 0; ++step) {
    net.step(active);
    net.heads(active);
    std::fill(changed.begin(), changed.end(), 0);
    for (int j = 0; j < active; ++j) {
      const int b = slot_sample[j];
      const act::StepStats stats = act::read_sample(net.logits(j), S, V, out.predictions.data() + static_cast<size_t>(b) * S);
      std::memcpy(out.logits.data() + b * logits_size, net.logits(j), logits_size * sizeof(float));
      out.steps[b] = step;
      out.q_halt[b] = net.q_halt(j);
      out.q_continue[b] = net.q_continue(j);
      changed[b] = stats.changed;
      confidence[b] = stats.confidence;
      const double p = act::halt_probability(out.q_halt[b]);
      halt_probability[b] = static_cast<float>(p);
      unchanged_run[b] = act::next_unchanged_run(unchanged_run[b], stats.changed);
      const act::StopReason reason = act::stop_reason(rules, step, p, stats.confidence, unchanged_run[b]);
      if (reason != act::kRunning) {
        halted[b] = 1;
        out.stopped_by[b] = reason;
        if (r.return_carry) {
          std::memcpy(out.carry_z_H.data() + b * carry_size, net.z_H(j), carry_size * sizeof(float));
          std::memcpy(out.carry_z_L.data() + b * carry_size, net.z_L(j), carry_size * sizeof(float));
        }
      }
    }
    if (r.trace) {
      out.trace_steps = step;
      for (int b = 0; b < B; ++b) {
        out.trace_q_halt.push_back(out.q_halt[b]);
        out.trace_q_continue.push_back(out.q_continue[b]);
        out.trace_halt_probability.push_back(halt_probability[b]);
        out.trace_halted.push_back(halted[b]);
        out.trace_changed.push_back(changed[b]);
        out.trace_confidence.push_back(confidence[b]);
        out.trace_stopped_by.push_back(out.stopped_by[b]);
      }
      if (r.trace_logits) out.trace_logits.insert(out.trace_logits.end(), out.logits.begin(), out.logits.end());
    }
    // Pack the samples still running to the front of the workspace.
    int kept = 0;
    for (int j = 0; j < active; ++j) {
      if (halted[slot_sample[j]]) continue;
      net.move_slot(j, kept);
      slot_sample[kept++] = slot_sample[j];
    }
    active = kept;
  }
  return out;
}

}  // namespace trm
