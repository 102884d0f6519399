#include "kernels/parallel_ops.hpp"

#include <algorithm>

namespace pensieve::kernels {

void swiglu(const KernelTable& kernels, core::ThreadPool& pool, const float* gate, const float* up, std::size_t n,
            float* out) {
  // Stretches of a few microseconds of work: large enough to be worth a hand-off, small enough
  // to balance; a multiple of every variant's vector width.
  constexpr std::size_t kStretch = 8192;
  const std::size_t tasks = (n + kStretch - 1) / kStretch;
  pool.parallel_for(tasks, [&](std::size_t task) {
    const std::size_t begin = task * kStretch;
    const std::size_t len = std::min(kStretch, n - begin);
    kernels.swiglu(gate + begin, up + begin, len, out + begin);
  });
}

}  // namespace pensieve::kernels
