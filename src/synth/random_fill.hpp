// synth/random_fill: deterministic noise for synthetic weights.
//
// Every row of every tensor has its own stream, seeded from (seed, tensor name, row index), so the
// bytes of a file depend on nothing but the seed — not on the thread count, the order rows are
// made in, or how many layers precede a tensor (blk.3 is the same with --layers 4 or 16).
// A value is the sum of four 16-bit uniforms from one splitmix64 output, scaled to the wanted
// standard deviation: bell-shaped (Irwin–Hall, bounded at ±3.46σ) for the price of one hash, where
// Box–Muller would pay a log, a sqrt and a cosine per value.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pensieve::synth {

// The stream of one tensor.
std::uint64_t tensor_stream(std::uint64_t seed, std::string_view tensor_name);

// Writes row `row` of the stream: out.size() values of mean 0 and standard deviation `std_dev`.
void random_row(std::uint64_t stream, std::uint64_t row, float std_dev, std::span<float> out);

}  // namespace pensieve::synth
