// A float buffer aligned to a cache line, so packed weight panels and activation rows
// never straddle lines more than they must. Sized once; the recursion never resizes it.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace trm {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t count) { resize(count); }

  void resize(size_t count) {
    const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
    float* p = bytes ? static_cast<float*>(std::aligned_alloc(64, bytes)) : nullptr;
    if (bytes && !p) throw std::bad_alloc();
    if (bytes) std::memset(p, 0, bytes);
    data_.reset(p);
    size_ = count;
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], Free> data_;
  size_t size_ = 0;
};

}  // namespace trm
