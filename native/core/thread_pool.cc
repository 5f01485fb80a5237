#include "core/thread_pool.h"

#include <algorithm>

namespace trm {

ThreadPool::ThreadPool(int threads) : size_(std::max(1, threads)) {
  workers_.reserve(size_ - 1);
  for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::chunk(int64_t count, int parts, int index, int64_t* begin, int64_t* end) {
  const int64_t base = count / parts, extra = count % parts;
  *begin = index * base + std::min<int64_t>(index, extra);
  *end = *begin + base + (index < extra ? 1 : 0);
}

void ThreadPool::run(int64_t count, Trampoline trampoline, void* ctx) {
  const int parts = static_cast<int>(std::min<int64_t>(size_, count));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ = count;
    parts_ = parts;
    trampoline_ = trampoline;
    ctx_ = ctx;
    pending_ = parts - 1;
    ++generation_;
  }
  wake_.notify_all();
  int64_t b, e;
  chunk(count, parts, 0, &b, &e);
  trampoline(ctx, b, e);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    int64_t count;
    int parts;
    Trampoline trampoline;
    void* ctx;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      count = count_;
      parts = parts_;
      trampoline = trampoline_;
      ctx = ctx_;
    }
    if (index < parts) {
      int64_t b, e;
      chunk(count, parts, index, &b, &e);
      trampoline(ctx, b, e);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

}  // namespace trm
