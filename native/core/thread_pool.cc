#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__linux__)
#include <sched.h>
#endif

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

// A worker on the same CPU as its caller moves off it: its affinity narrowed to the other
// CPUs it may use, which migrates it at once, then restored (Linux does not move it back).
// Linux wakes a sleeping worker onto its waker's CPU when it judges that cheaper, and the
// two then share that core until the load balancer parts them, milliseconds later; taking
// the worker's parts (run()) keeps the caller from waiting, but not from sharing its core
// with a spinning worker. Side by side in processes of their own (Intel f6 m207, KVM, 2
// cores), whole answers at batch 1 after a 20 ms idle gap, 2 threads, two runs: sudoku-9x9
// 13.7-14.6 -> 9.9-10.2 ms (unchanged in the second run), compliance 10.9-11.4 -> 7.3-9.2
// and 11.6-14.4 -> 9.6-10.1, compliance-records 9.0-9.3 -> 6.1-6.3, intent 3.7-4.5 ->
// 3.2-3.7. Not done when the pool has more threads than the CPUs it may use, where sharing
// cannot be avoided.
void step_off_cpu(int cpu, int pool_size) {
#if defined(__linux__)
  if (cpu < 0 || sched_getcpu() != cpu) return;
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0 || !CPU_ISSET(cpu, &mask) || CPU_COUNT(&mask) < pool_size) return;
  cpu_set_t others = mask;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof(others), &others) == 0) sched_setaffinity(0, sizeof(mask), &mask);
#else
  (void)cpu;
  (void)pool_size;
#endif
}

}  // namespace

// The region word: generation in the high bits, the region's part count in the low 16
// (threads are at most 1024: lib/backends/threads.ts).
constexpr int kPartBits = 16;
constexpr uint64_t kPartMask = (uint64_t{1} << kPartBits) - 1;

ThreadPool::ThreadPool(int threads)
    : size_(std::clamp(threads, 1, static_cast<int>(kPartMask))), claims_(new PartClaim[size_]) {
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

bool ThreadPool::claim(int part, uint64_t generation) {
  std::atomic<uint64_t>& claimed = claims_[part].generation;
  uint64_t last = claimed.load(std::memory_order_acquire);
  while (last < generation) {
    if (claimed.compare_exchange_weak(last, generation, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
  }
  return false;
}

// Runs a claimed part of the current region; true when it was the region's last to finish.
// The fields cannot change under it: the caller publishes the next region only once
// parts_done_ counts every part, this one included, so nothing of the region may be read
// after that count.
bool ThreadPool::run_part(int part) {
  const int64_t count = count_;
  const int parts = parts_;
  int64_t b, e;
  chunk(count, parts, part, &b, &e);
  trampoline_(ctx_, b, e);
  return parts_done_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts;
}

void ThreadPool::run(int64_t count, Trampoline trampoline, void* ctx) {
  const int parts = static_cast<int>(std::min<int64_t>(size_, count));
  const uint64_t generation = (published_.load(std::memory_order_relaxed) >> kPartBits) + 1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ = count;
    parts_ = parts;
    trampoline_ = trampoline;
    ctx_ = ctx;
    parts_done_.store(0, std::memory_order_relaxed);
#if defined(__linux__)
    caller_cpu_.store(sched_getcpu(), std::memory_order_relaxed);
#endif
    published_.store(generation << kPartBits | static_cast<uint64_t>(parts), std::memory_order_release);
  }
  wake_.notify_all();
  run_part(0);
  for (int part = 1; part < parts; ++part) {
    if (claim(part, generation)) {
      run_part(part);
      taken_by_caller_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  const auto all_done = [&] { return parts_done_.load(std::memory_order_acquire) == parts; };
  if (spin_until(all_done)) return;
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, all_done);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;  // the last region this worker looked at
  for (;;) {
    const auto published = [&] {
      return stop_.load(std::memory_order_acquire) ||
             (published_.load(std::memory_order_acquire) >> kPartBits) != seen;
    };
    if (!spin_until(published)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, published);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    // The newest region: any this worker slept through were finished by the caller.
    const uint64_t word = published_.load(std::memory_order_acquire);
    seen = word >> kPartBits;
    step_off_cpu(caller_cpu_.load(std::memory_order_relaxed), size_);
    if (index < static_cast<int>(word & kPartMask) && claim(index, seen) && run_part(index)) {
      std::lock_guard<std::mutex> lock(mutex_);  // the caller may be asleep on done_
      done_.notify_one();
    }
  }
}

}  // namespace trm
