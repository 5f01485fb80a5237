// Shared by every CUDA translation unit: error checking, bf16 rounding (core/bf16.h, the
// CPU reference's own definition), and an owning device buffer.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/bf16.h"
#include "cuda/cuda_model.h"

namespace trm::cuda {

inline void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) {
    throw DeviceError(std::string("CUDA error: ") + cudaGetErrorString(status) + " (" + what + " at " + file + ":" +
                      std::to_string(line) + ")");
  }
}
#define TRM_CUDA_CHECK(expr) ::trm::cuda::check((expr), #expr, __FILE__, __LINE__)

inline unsigned blocks_for(size_t count, unsigned threads) {
  const size_t b = (count + threads - 1) / threads;
  return static_cast<unsigned>(b < 65535u * 16u ? (b == 0 ? 1 : b) : 65535u * 16u);  // kernels grid-stride past this
}

// Device memory with an owner; move-only. The hot loop never allocates: buffers live in the
// weights or in a workspace built once per batch size.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { resize(bytes); }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = o.ptr_;
      bytes_ = o.bytes_;
      o.ptr_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void resize(size_t bytes) {
    reset();
    if (bytes == 0) return;
    TRM_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
    bytes_ = bytes;
  }
  void reset() {
    if (ptr_ != nullptr) cudaFree(ptr_);  // no throw from a destructor path
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace trm::cuda
