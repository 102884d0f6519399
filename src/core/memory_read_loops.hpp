// core/memory_read_loops: the loops the bandwidth measure reads memory with, one per instruction
// set. Wider loads measurably raise what one core pulls from DRAM (one thread on a shared Xeon VM,
// runs interleaved: SSE2 7-11 GB/s, AVX2 9-13, AVX-512 9-15, AVX-512 ahead of SSE2 in nearly every
// pair), so the measure uses the widest the CPU has: a ceiling set too low would flatter every
// "fraction of bandwidth" quoted against it. Each variant lives in its own translation unit
// compiled for its instructions; this header declares plain functions only, so no inline code is
// compiled for one ISA and linked into callers of another.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::core::read_loops {

// All variants: the wrapping sum of words[0, n); n is a multiple of kWordsPerStep and `words` is
// 64-byte aligned.
inline constexpr std::size_t kWordsPerStep = 32;  // 256 bytes: four 64-byte loads

std::uint64_t sum_portable(const std::uint64_t* words,
                           std::size_t n);  // baseline ISA, vectorised by the compiler
std::uint64_t sum_avx2(const std::uint64_t* words, std::size_t n);    // needs AVX2
std::uint64_t sum_avx512(const std::uint64_t* words, std::size_t n);  // needs AVX-512F

// As sum_avx2, each 64-byte line also asked for (prefetcht0) `ahead` bytes before it is read, as
// the AVX2 decode kernels ask for their weights. Not a bandwidth measure: on Zen 3 such a stream
// read 0.8–0.9 as fast as the plain loop, and the Q4_0, Q4_K and Q6_K decode kernels 0.98–1.09
// as fast as it (kernels_bench decode/dram, of_prefetched_read).
std::uint64_t sum_avx2_prefetched(const std::uint64_t* words, std::size_t n,
                                  std::size_t ahead);  // needs AVX2

}  // namespace pensieve::core::read_loops
