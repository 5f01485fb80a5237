// The thread pool's contract under load (core/thread_pool.h): every region runs each index of
// its range exactly once, in the pool's contiguous chunks, whichever thread runs a chunk;
// and a caller whose workers are asleep takes their parts rather than waiting for them.
// More threads than cores (5 here on a 2-core machine) keep workers descheduled mid-region.
//   build/trm_pool_check   (run by test/native/thread-pool.test.ts)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace {

int failures = 0;

void expect(bool ok, const char* what, int threads, int64_t count, int region) {
  if (ok) return;
  if (++failures <= 20) std::printf("FAIL %s (threads %d, count %lld, region %d)\n", what, threads, static_cast<long long>(count), region);
}

// Regions over [0, count): each index counted once; each call's range one of the pool's
// chunks (at most `threads` of them, sizes differing by at most one).
void check_regions(trm::ThreadPool& pool, int64_t count, int regions, bool sleep_between) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
  for (int region = 0; region < regions; ++region) {
    for (auto& h : hits) h.store(0, std::memory_order_relaxed);
    std::atomic<int> calls{0};
    std::atomic<int64_t> smallest{count}, largest{0};
    pool.parallel_for(count, [&](int64_t b, int64_t e) {
      calls.fetch_add(1);
      int64_t s = smallest.load();
      while (e - b < s && !smallest.compare_exchange_weak(s, e - b)) {}
      int64_t l = largest.load();
      while (e - b > l && !largest.compare_exchange_weak(l, e - b)) {}
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
    });
    bool once = true;
    for (auto& h : hits) once = once && h.load() == 1;
    expect(once, "every index exactly once", pool.size(), count, region);
    const int64_t parts = std::min<int64_t>(pool.size(), count);
    expect(calls.load() == parts, "one call per chunk", pool.size(), count, region);
    expect(largest.load() - smallest.load() <= 1, "chunks differ by at most one", pool.size(), count, region);
    if (sleep_between) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

int main() {
  int cases = 0;
  for (int threads : {2, 3, 5}) {
    trm::ThreadPool pool(threads);
    for (int64_t count : {1, 2, 3, 4, 7, 100, 1000}) {
      check_regions(pool, count, 500, false);
      check_regions(pool, count, 20, true);  // workers asleep at each region's start
      cases += 2;
    }
  }
  // Workers asleep (idle far past their spin), then regions of almost no work: the caller
  // finishes its own part long before a sleeping worker wakes, so it must take that part.
  trm::ThreadPool pool(2);
  const uint64_t before = pool.parts_taken_by_caller();
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    check_regions(pool, 2, 1, false);
  }
  const uint64_t taken = pool.parts_taken_by_caller() - before;
  std::printf("after idle: the caller took %llu of 20 sleeping workers' parts\n", static_cast<unsigned long long>(taken));
  expect(taken > 0, "the caller takes a sleeping worker's part", 2, 2, 0);
  ++cases;
  std::printf("pool check: %d case(s), %d failure(s)\n", cases, failures);
  return failures == 0 ? 0 : 1;
}
