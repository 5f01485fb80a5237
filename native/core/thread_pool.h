// A fixed pool of worker threads for the parallel regions of one model's recursion.
// Threads start once (at model load), so the recursion pays no thread start-up; the calling
// thread takes part as worker 0, so `threads` = 1 spawns none. A small model runs thousands
// of regions per answer, a few microseconds each, so between regions the threads spin
// briefly before they sleep: waking a sleeping thread costs more than the region itself.
//
// A region's parts are fixed (part i is chunk i of the range, whoever runs it), and worker i
// runs part i when it gets there first; but the caller, once its own part is done, takes
// every part whose worker has not started it. A worker that is asleep, still waking, or
// placed by the OS on the caller's own core (Linux does this to a thread woken after idle:
// measured on a 2-core KVM guest, the pair then shared one core for milliseconds, and a
// small 2-thread call took 3x its 1-thread time) so costs the call its share of the work,
// not a wait for that thread; and a worker that finds itself on its caller's CPU moves off
// it (thread_pool.cc, step_off_cpu).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace trm {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Runs fn(begin, end) over [0, count) split into at most size() contiguous chunks, and
  // returns when all are done. Each chunk runs once, on some thread of the pool (usually its
  // own worker: see above), so fn must not depend on which thread runs it. Not reentrant:
  // one region at a time per pool. A template so the hot loop builds no std::function (and
  // allocates nothing).
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

  // Parts the caller ran for a worker that had not started them, since the pool was made
  // (for tests and diagnostics).
  uint64_t parts_taken_by_caller() const { return taken_by_caller_.load(std::memory_order_relaxed); }

 private:
  using Trampoline = void (*)(void*, int64_t, int64_t);
  void run(int64_t count, Trampoline trampoline, void* ctx);
  void worker_loop(int index);
  // Claims part `part` of region `generation` for the calling thread; false when another
  // thread already has it.
  bool claim(int part, uint64_t generation);
  bool run_part(int part);
  static void chunk(int64_t count, int parts, int index, int64_t* begin, int64_t* end);

  // The region a part was last claimed for, one cache line per part so that claiming one
  // does not slow the thread running the next.
  struct alignas(64) PartClaim {
    std::atomic<uint64_t> generation{0};
  };

  int size_;
  std::vector<std::thread> workers_;
  std::unique_ptr<PartClaim[]> claims_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // generation << 16 | parts of the current region: published under mutex_ (so sleepers
  // cannot miss it) and read without it by spinners. The fields below it are written before
  // it and stay unchanged until every part of the region is done.
  std::atomic<uint64_t> published_{0};
  std::atomic<int> parts_done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> taken_by_caller_{0};
  std::atomic<int> caller_cpu_{-1};  // where the caller published the current region from
  int64_t count_ = 0;
  int parts_ = 0;
  Trampoline trampoline_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace trm
