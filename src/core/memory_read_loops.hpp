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

}  // namespace pensieve::core::read_loops
