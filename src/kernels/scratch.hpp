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

// The most scratch memory one thread keeps after matmul calls of up to `rows` inputs of up to
// `cols` values, whatever the variant: slot 1 (AVX2 Q6_K's transposed activations, 320 bytes a
// row per 256 values, or AVX-512's integer panels built four at a time) and slot 0 (AVX-512's
// figures of each input), each with the headroom scratch() adds. Slot 2 is left out: the AVX-512
// float kernels' converted panel there is sized to the L2 cache (1 MiB and its accumulators),
// and the other users repack row ranges that start off a panel, which the model's row dealing
// never hands out.
std::size_t matmul_scratch_bytes(std::size_t rows, std::size_t cols);

// Bytes the calling thread's `slot` holds now.
std::size_t scratch_held(unsigned slot);

}  // namespace pensieve::kernels
