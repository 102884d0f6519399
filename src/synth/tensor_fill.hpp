// synth/tensor_fill: produces the packed bytes of a planned tensor, rows at a time, for the GGUF
// writer's row callbacks: values are generated into a small per-thread buffer and quantized
// straight into the output, with the rows of each run split over worker threads.
#pragma once

#include <cstdint>

#include "gguf/writer.hpp"
#include "synth/shapes.hpp"
#include "synth/tensor_plan.hpp"

namespace pensieve::synth {

// A row callback for `t` (copied into it). `threads` ≥ 1. The bytes depend only on `seed`.
gguf::Writer::RowFillFn make_row_fill(const PlannedTensor& t, const Shape& shape, std::uint64_t seed,
                                      unsigned threads);

}  // namespace pensieve::synth
