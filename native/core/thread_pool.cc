#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TRM_CPU_RELAX() _mm_pause()
#else
#define TRM_CPU_RELAX() std::this_thread::yield()
#endif

namespace trm {
namespace {

// How long a thread spins on a flag before it sleeps: long enough to cover the gap between
// two regions of one inference (the caller's serial work between them), short enough that
// an idle model's threads are asleep almost at once.
constexpr auto kSpin = std::chrono::microseconds(200);

// Spins until pred() holds or kSpin passes; true when pred() held. After the first few
// microseconds each round also yields: on an oversubscribed machine (other processes, or
// more threads than cores) the thread we wait for may need this core to finish.
template <typename Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int round = 0;; ++round) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      TRM_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    if (round >= 16) std::this_thread::yield();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) : size_(std::max(1, threads)) {
  workers_.reserve(size_ - 1);
  for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
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
    // Every worker checks in, even one without a part, so none still reads these fields
    // when the next region overwrites them.
    pending_.store(size_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  int64_t b, e;
  chunk(count, parts, 0, &b, &e);
  trampoline(ctx, b, e);
  if (spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) return;
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const auto published = [&] {
      return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    };
    if (!spin_until(published)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, published);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    // The fields were written before generation_ was bumped (release), and the caller does
    // not publish again until every part, this one included, has finished.
    const int64_t count = count_;
    const int parts = parts_;
    const Trampoline trampoline = trampoline_;
    void* const ctx = ctx_;
    if (index < parts) {
      int64_t b, e;
      chunk(count, parts, index, &b, &e);
      trampoline(ctx, b, e);
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace trm
