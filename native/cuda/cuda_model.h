// The fused TRM operator on an NVIDIA GPU, behind a plain C++ interface: no CUDA header,
// no N-API, no torch. Same spec, weights, request and result as trm::Model (core/), same
// halting and trace semantics as core/recursion.cc.
//
// UNVERIFIED ON HARDWARE: this code compiles (nvcc, sm_80 and sm_90) but has not yet run on
// any GPU. native/cuda/README.md lists what is unverified and the command that verifies it.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "core/infer_types.h"
#include "core/model.h"
#include "core/model_spec.h"

namespace trm::cuda {

// What this process can use: whether the backend was compiled in, how many usable GPUs
// (compute capability >= 8.0) the driver reports, and why none when there are none.
struct CudaStatus {
  bool built = false;
  int devices = 0;
  std::string reason;
};
CudaStatus cuda_status();

// A CUDA runtime failure (no device, out of memory, a kernel fault): the binding reports it
// as a BackendError.
class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CudaModel {
 public:
  // Checks the weights against the spec (trm::Error(kModel)), then uploads them once, in
  // fp32 or bf16 by `precision`; the caller's buffers are not referenced afterwards.
  CudaModel(const ModelSpec& spec, const WeightViews& weights, Precision precision, int device = 0);
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  const ModelSpec& spec() const;
  Precision precision() const;
  // e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
  const std::string& device_name() const;

  // Every ACT step of the batch on the GPU; only results and trace come back. Calls on one
  // model run one after another (they share the model's workspace and CUDA graphs).
  InferResult infer(const InferRequest& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trm::cuda
