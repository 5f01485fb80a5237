// Shared by every CUDA translation unit: error checking, bf16 rounding that matches the CPU
// reference bit for bit, and an owning device buffer.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "cuda/cuda_model.h"

namespace trm::cuda {

inline void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) {
    throw DeviceError(std::string("CUDA error: ") + cudaGetErrorString(status) + " (" + what + " at " + file + ":" +
                      std::to_string(line) + ")");
  }
}
#define TRM_CUDA_CHECK(expr) ::trm::cuda::check((expr), #expr, __FILE__, __LINE__)

// float -> bf16 bits exactly as cpu::bf16_from_f32 (kernels.h): round to nearest even, NaN
// stays NaN, subnormals flush to signed zero. __float2bfloat16_rn keeps subnormals, so it
// would not match the CPU tables.
__host__ __device__ inline uint16_t bf16_bits(float x) {
  uint32_t bits;
  memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0) return static_cast<uint16_t>((bits >> 16) & 0x8000u);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

__host__ __device__ inline float f32_from_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  memcpy(&x, &bits, 4);
  return x;
}

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
