// kernels/parallel_ops: the element-wise ops of a forward pass spread over the thread pool, each
// thread taking whole stretches so a value's result never depends on the split.
#pragma once

#include <cstddef>

#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {

// out = silu(gate) · up over n values; out may alias gate or up.
void swiglu(const KernelTable& kernels, core::ThreadPool& pool, const float* gate, const float* up, std::size_t n,
            float* out);

}  // namespace pensieve::kernels
