// A fixed pool of worker threads for the parallel regions of one model's recursion.
// Threads start once (at model load), so the recursion pays no thread start-up; the calling
// thread takes part as worker 0, so `threads` = 1 spawns none. A small model runs thousands
// of regions per answer, a few microseconds each, so between regions the threads spin
// briefly before they sleep: waking a sleeping thread costs more than the region itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <type_traits>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace trm {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Runs fn(begin, end) over [0, count) split into at most size() contiguous chunks, one per
  // thread, and returns when all are done. Not reentrant: one region at a time per pool.
  // A template so the hot loop builds no std::function (and allocates nothing).
  template <typename Fn>
  void parallel_for(int64_t count, Fn&& fn) {
    if (count <= 0) return;
    if (size_ == 1 || count == 1) {
      fn(int64_t{0}, count);
      return;
    }
    using Callable = std::remove_reference_t<Fn>;
    run(count, [](void* ctx, int64_t b, int64_t e) { (*static_cast<Callable*>(ctx))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Trampoline = void (*)(void*, int64_t, int64_t);
  void run(int64_t count, Trampoline trampoline, void* ctx);
  void worker_loop(int index);
  static void chunk(int64_t count, int parts, int index, int64_t* begin, int64_t* end);

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Published under mutex_ (so sleepers cannot miss it) and read without it by spinners.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  int64_t count_ = 0;
  int parts_ = 0;
  Trampoline trampoline_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace trm
