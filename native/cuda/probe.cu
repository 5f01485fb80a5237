// cuda_status(): what the driver reports, without ever throwing. With no driver installed the
// static runtime returns an error (it loads libcuda lazily), which becomes the reason.
#include <string>

#include "cuda/common.cuh"

namespace trm::cuda {

CudaStatus cuda_status() {
  CudaStatus status;
  status.built = true;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    status.reason = std::string("no usable CUDA driver or device: ") + cudaGetErrorString(err);
    return status;
  }
  int usable = 0;
  std::string too_old;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
    // mma.sync bf16 and the kernels' tuning assume Ampere or newer.
    if (prop.major >= 8) {
      ++usable;
    } else {
      too_old += std::string(too_old.empty() ? "" : ", ") + prop.name + " (sm_" + std::to_string(prop.major) +
                 std::to_string(prop.minor) + ")";
    }
  }
  status.devices = usable;
  if (count == 0) status.reason = "the CUDA driver reports no device";
  else if (usable == 0) status.reason = "no device of compute capability 8.0 or newer: " + too_old;
  return status;
}

}  // namespace trm::cuda
