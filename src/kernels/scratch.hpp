// kernels/scratch: per-thread scratch memory for the kernels of every variant. Compiled without
// any instruction-set flags, so the AVX2 and AVX-512 files may both call it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::kernels {

// Per-thread scratch memory, 64-byte aligned, kept between calls and grown when a larger shape
// comes (so steady-state calls allocate nothing). `slot` (below 3) separates buffers used at the
// same time.
std::uint8_t* scratch(unsigned slot, std::size_t bytes);

}  // namespace pensieve::kernels
