// The AVX512_VNNI peak loop (built with -mavx512vnni; called only after peak.cc checked the
// CPU): independent vpdpbusd chains, 64 u8 x s8 multiply-adds (128 integer ops) each.
//
// The twelve vpdpbusd of an iteration are one asm statement on twelve named accumulators:
// from the intrinsic, GCC 12 copied the accumulators around every unrolled vpdpbusd (two
// vmovdqa each, in the object code), which held this loop to 610-680 GOP/s in most runs on
// one Zen 5 core (AMD EPYC family 26; 912 in one), and asm on elements of an accumulator array
// kept the array in memory (about 300), where the 8x32 GEMM itself reached 893 (npm run
// bench:kernels). As written it reads 915-962.
#include "avx512_intrinsics.h"

#include <chrono>

#include "../peak.h"

namespace trm::cpu {
namespace {

constexpr int kChains = 12;
constexpr long kInner = 1 << 14;

volatile int g_sink;

}  // namespace

double dot_loop_int8_avx512vnni(double seconds) {
  static_assert(kChains == 12, "the asm below names twelve accumulators");
  __m512i c0 = _mm512_set1_epi32(0), c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2), c3 = _mm512_set1_epi32(3);
  __m512i c4 = _mm512_set1_epi32(4), c5 = _mm512_set1_epi32(5), c6 = _mm512_set1_epi32(6), c7 = _mm512_set1_epi32(7);
  __m512i c8 = _mm512_set1_epi32(8), c9 = _mm512_set1_epi32(9), c10 = _mm512_set1_epi32(10), c11 = _mm512_set1_epi32(11);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  const auto start = std::chrono::steady_clock::now();
  double ops = 0;
  do {
    for (long it = 0; it < kInner; ++it) {
      asm("vpdpbusd %[b], %[a], %0\n\tvpdpbusd %[b], %[a], %1\n\tvpdpbusd %[b], %[a], %2\n\t"
          "vpdpbusd %[b], %[a], %3\n\tvpdpbusd %[b], %[a], %4\n\tvpdpbusd %[b], %[a], %5\n\t"
          "vpdpbusd %[b], %[a], %6\n\tvpdpbusd %[b], %[a], %7\n\tvpdpbusd %[b], %[a], %8\n\t"
          "vpdpbusd %[b], %[a], %9\n\tvpdpbusd %[b], %[a], %10\n\tvpdpbusd %[b], %[a], %11"
          : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9),
            "+v"(c10), "+v"(c11)
          : [a] "v"(a), [b] "v"(b));
    }
    ops += 2.0 * 64 * kChains * kInner;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  const __m512i sum = _mm512_add_epi32(
      _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                       _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7))),
      _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  g_sink = _mm512_reduce_add_epi32(sum);
  return ops;
}

}  // namespace trm::cpu
